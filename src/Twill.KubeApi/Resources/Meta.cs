using System.Text.Json.Nodes;

namespace Twill.KubeApi.Resources;

/// <summary>Reading and writing ObjectMeta fields of an object held as JSON.</summary>
internal static class Meta
{
    public static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m)
        {
            return m;
        }
        JsonObject created = [];
        obj["metadata"] = created;
        return created;
    }

    public static string? Str(JsonObject obj, string field) => obj[field] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    public static string Name(JsonObject obj) => Str(Metadata(obj), "name") ?? "";

    public static string Namespace(JsonObject obj) => Str(Metadata(obj), "namespace") ?? "";

    public static string ResourceVersion(JsonObject obj) => Str(Metadata(obj), "resourceVersion") ?? "";

    public static void SetResourceVersion(JsonObject obj, long revision) => Metadata(obj)["resourceVersion"] = revision.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static IReadOnlyDictionary<string, string> Labels(JsonObject obj)
    {
        Dictionary<string, string> labels = new(StringComparer.Ordinal);
        if (Metadata(obj)["labels"] is JsonObject map)
        {
            foreach ((string k, JsonNode? v) in map)
            {
                if (v is JsonValue value && value.TryGetValue(out string? s))
                {
                    labels[k] = s;
                }
            }
        }
        return labels;
    }

    /// <summary>The value at a dotted path (<c>spec.nodeName</c>) as a field selector sees it: strings and booleans as text, absent as "".</summary>
    public static string FieldValue(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        foreach (string part in path.Split('.'))
        {
            node = node is JsonObject o ? o[part] : null;
        }
        return node switch
        {
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonValue v when v.TryGetValue(out bool b) => b ? "true" : "false",
            JsonValue v => v.ToJsonString(),
            _ => "",
        };
    }

    /// <summary>RFC 3339 to the second, as metav1.Time marshals.</summary>
    public static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
