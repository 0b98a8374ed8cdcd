using System.Text.Json.Nodes;
using Twill.KubeApi.Resources;

namespace Twill.KubeApi.Http;

/// <summary>Server-side printing: meta.k8s.io Table and PartialObjectMetadata renderings of objects.</summary>
internal static class Tables
{
    public static JsonObject Table(ResourceKind kind, string apiVersion, IEnumerable<JsonObject> objects, JsonObject listMeta, string includeObject)
    {
        DateTime now = DateTime.UtcNow;
        JsonArray columns = [];
        foreach (TableColumn c in kind.Columns)
        {
            columns.Add((JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["type"] = c.Type,
                ["format"] = c.Format,
                ["description"] = c.Description,
                ["priority"] = c.Priority,
            });
        }
        JsonArray rows = [];
        foreach (JsonObject obj in objects)
        {
            JsonObject row = new() { ["cells"] = new JsonArray([.. kind.Row(obj, now).Select(c => c?.DeepClone())]) };
            switch (includeObject)
            {
                case "None":
                    break;
                case "Object":
                    obj["kind"] = kind.Kind;
                    obj["apiVersion"] = kind.ApiVersion;
                    row["object"] = obj.DeepClone();
                    break;
                default:
                    row["object"] = PartialObjectMetadata(obj, apiVersion);
                    break;
            }
            rows.Add((JsonNode)row);
        }
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = apiVersion,
            ["metadata"] = listMeta.DeepClone(),
            ["columnDefinitions"] = columns,
            ["rows"] = rows,
        };
    }

    public static JsonObject PartialObjectMetadata(JsonObject obj, string apiVersion) => new()
    {
        ["kind"] = "PartialObjectMetadata",
        ["apiVersion"] = apiVersion,
        ["metadata"] = Meta.Metadata(obj).DeepClone(),
    };

    public static JsonObject PartialObjectMetadataList(IEnumerable<JsonObject> objects, JsonObject listMeta, string apiVersion) => new()
    {
        ["kind"] = "PartialObjectMetadataList",
        ["apiVersion"] = apiVersion,
        ["metadata"] = listMeta.DeepClone(),
        ["items"] = new JsonArray([.. objects.Select(o => (JsonNode)PartialObjectMetadata(o, apiVersion))]),
    };
}
