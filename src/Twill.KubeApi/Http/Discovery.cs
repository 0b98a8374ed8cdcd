using System.Text.Json.Nodes;
using Twill.KubeApi.Resources;

namespace Twill.KubeApi.Http;

/// <summary>The legacy discovery documents kubectl and client libraries read: /api, /api/v1, /apis, /version.</summary>
internal static class Discovery
{
    public const string KubernetesVersion = "v1.32.0";

    private static readonly string[] s_verbs = ["create", "delete", "get", "list", "patch", "update", "watch"];
    private static readonly string[] s_statusVerbs = ["get", "patch", "update"];

    public static JsonObject ApiVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static JsonObject ApiGroupList(IEnumerable<string> groups) => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray([.. groups.Select(g => (JsonNode)ApiGroupBody(g))]),
    };

    public static JsonObject ApiGroup(string group)
    {
        JsonObject g = ApiGroupBody(group);
        g["kind"] = "APIGroup";
        g["apiVersion"] = "v1";
        return g;
    }

    private static JsonObject ApiGroupBody(string group) => new()
    {
        ["name"] = group,
        ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = group + "/v1", ["version"] = "v1" }),
        ["preferredVersion"] = new JsonObject { ["groupVersion"] = group + "/v1", ["version"] = "v1" },
    };

    public static JsonObject ResourceList(string groupVersion, IEnumerable<ResourceKind> kinds)
    {
        JsonArray resources = [];
        foreach (ResourceKind k in kinds)
        {
            JsonObject main = new()
            {
                ["name"] = k.Resource,
                ["singularName"] = k.SingularName,
                ["namespaced"] = k.Namespaced,
                ["kind"] = k.Kind,
                ["verbs"] = new JsonArray([.. s_verbs.Select(v => (JsonNode)v)]),
                ["shortNames"] = new JsonArray([.. k.ShortNames.Select(s => (JsonNode)s)]),
            };
            if (k.Namespaced)
            {
                main["categories"] = new JsonArray("all");
            }
            resources.Add((JsonNode)main);
            if (!k.HasStatus)
            {
                continue;
            }
            resources.Add((JsonNode)new JsonObject
            {
                ["name"] = k.Resource + "/status",
                ["singularName"] = "",
                ["namespaced"] = k.Namespaced,
                ["kind"] = k.Kind,
                ["verbs"] = new JsonArray([.. s_statusVerbs.Select(v => (JsonNode)v)]),
            });
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["groupVersion"] = groupVersion,
            ["resources"] = resources,
        };
    }

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = KubernetesVersion + "+twill",
        ["gitCommit"] = "",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "1970-01-01T00:00:00Z",
        ["goVersion"] = "",
        ["compiler"] = "twill",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject RootPaths() => new()
    {
        ["paths"] = new JsonArray("/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"),
    };
}
