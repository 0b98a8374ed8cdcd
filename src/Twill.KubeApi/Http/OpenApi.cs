using System.Text.Json.Nodes;
using Twill.KubeApi.Resources;

namespace Twill.KubeApi.Http;

/// <summary>
/// A minimal OpenAPI v3 (/openapi/v3 and /openapi/v3/api/v1): the operations of our resources with their
/// group-version-kind and query parameters, and no schemas. kubectl reads it to learn that the server
/// validates fields itself (the fieldValidation parameter of PATCH), so `kubectl create -f` needs no
/// client-side schema.
/// </summary>
internal static class OpenApi
{
    public const string Hash = "TWILL0000000000000000000000000000000000000000000000000000000000001";

    /// <summary>The URL path of a group-version: "api/v1" or "apis/&lt;group&gt;/&lt;version&gt;".</summary>
    public static string PathOf(string groupVersion) => groupVersion == "v1" ? "api/v1" : "apis/" + groupVersion;

    public static JsonObject Root(IEnumerable<string> groupVersions)
    {
        JsonObject paths = [];
        foreach (string gv in groupVersions)
        {
            paths[PathOf(gv)] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{PathOf(gv)}?hash=" + Hash };
        }
        return new JsonObject { ["paths"] = paths };
    }

    public static JsonObject GroupVersion(string groupVersion, IEnumerable<ResourceKind> kinds)
    {
        JsonObject paths = [];
        string prefix = "/" + PathOf(groupVersion);
        foreach (ResourceKind k in kinds)
        {
            string collection = k.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{k.Resource}" : $"{prefix}/{k.Resource}";
            paths[collection] = new JsonObject
            {
                ["get"] = Operation(k, "list", []),
                ["post"] = Operation(k, "post", ["dryRun", "fieldManager", "fieldValidation"]),
            };
            paths[collection + "/{name}"] = new JsonObject
            {
                ["get"] = Operation(k, "get", []),
                ["put"] = Operation(k, "put", ["dryRun", "fieldManager", "fieldValidation"]),
                ["patch"] = Operation(k, "patch", ["dryRun", "fieldManager", "fieldValidation", "force"]),
                ["delete"] = Operation(k, "delete", ["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            };
            if (!k.HasStatus)
            {
                continue;
            }
            paths[collection + "/{name}/status"] = new JsonObject
            {
                ["get"] = Operation(k, "get", []),
                ["put"] = Operation(k, "put", ["dryRun", "fieldManager", "fieldValidation"]),
                ["patch"] = Operation(k, "patch", ["dryRun", "fieldManager", "fieldValidation", "force"]),
            };
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = Discovery.KubernetesVersion },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = new JsonObject() },
        };
    }

    private static JsonObject Operation(ResourceKind k, string action, string[] queryParameters)
    {
        JsonArray parameters = [];
        foreach (string p in queryParameters)
        {
            parameters.Add((JsonNode)new JsonObject
            {
                ["name"] = p,
                ["in"] = "query",
                ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true },
            });
        }
        return new JsonObject
        {
            ["parameters"] = parameters,
            ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
            ["x-kubernetes-action"] = action,
            ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = k.Group, ["version"] = k.Version, ["kind"] = k.Kind },
        };
    }
}
