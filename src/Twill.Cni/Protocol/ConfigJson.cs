using System.Text.Json;

namespace Twill.Cni.Protocol;

/// <summary>
/// Typed reads of a config's keys from the already parsed JSON, as Go's encoding/json decodes a
/// struct: keys match case-insensitively (the last of repeated keys wins), unknown keys are
/// ignored, null leaves the default, and a value of the wrong JSON type is an error naming the
/// key. Replaces JsonSerializer for the plugin configs: its metadata set-up reads attributes
/// through reflection at run time, which cost a plugin process ~15% of its CPU.
/// </summary>
internal static class ConfigJson
{
    /// <summary>The key's value (null when absent).</summary>
    public static JsonElement? Get(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        JsonElement? found = null;
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                found = p.Value;
            }
        }
        return found;
    }

    public static bool Bool(JsonElement obj, string name, string path) => Get(obj, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => false,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        JsonElement v => throw Mismatch(v, "a boolean", path, name),
    };

    public static int Int(JsonElement obj, string name, string path) => NullableInt(obj, name, path) ?? 0;

    public static int? NullableInt(JsonElement obj, string name, string path) => Get(obj, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt32(out int i) => i,
        JsonElement v => throw Mismatch(v, "a 32-bit integer", path, name),
    };

    public static string? Str(JsonElement obj, string name, string path) => Get(obj, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        JsonElement v => throw Mismatch(v, "a string", path, name),
    };

    /// <summary>
    /// The two sections where a runtime passes per-container values (the reference's
    /// <c>runtimeConfig</c> and <c>args.cni</c>), read in the reference's order with the same paths.
    /// </summary>
    public static PerContainerSections PerContainer(JsonElement config)
    {
        JsonElement? runtimeConfig = Object(config, "runtimeConfig", "$");
        JsonElement? args = Object(config, "args", "$");
        JsonElement? argsCni = args is { } a ? Object(a, "cni", "$.args") : null;
        return new PerContainerSections(runtimeConfig, args is not null, argsCni);
    }

    /// <summary>A nested object (null when absent or null).</summary>
    public static JsonElement? Object(JsonElement obj, string name, string path) => Get(obj, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.Object } v => v,
        JsonElement v => throw Mismatch(v, "an object", path, name),
    };

    /// <summary>An array's elements (null when absent or null).</summary>
    public static List<JsonElement>? Array(JsonElement obj, string name, string path) => Get(obj, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.Array } v => [.. v.EnumerateArray()],
        JsonElement v => throw Mismatch(v, "an array", path, name),
    };

    /// <summary>An array of strings (null when absent or null).</summary>
    public static List<string>? Strings(JsonElement obj, string name, string path)
    {
        List<JsonElement>? items = Array(obj, name, path);
        if (items is null)
        {
            return null;
        }
        List<string> list = [];
        for (int i = 0; i < items.Count; i++)
        {
            list.Add(items[i].ValueKind switch
            {
                JsonValueKind.String => items[i].GetString()!,
                _ => throw Mismatch(items[i], "a string", path, $"{name}[{i}]"),
            });
        }
        return list;
    }

    /// <summary>An array element that must be an object (null stays null).</summary>
    public static JsonElement? Element(JsonElement item, string path) => item.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Object => item,
        _ => throw Mismatch(item, "an object", path, ""),
    };

    public static JsonException Mismatch(JsonElement value, string expected, string path, string name) =>
        new($"The JSON value {Describe(value)} could not be converted to {expected}. Path: {path}{(name.Length > 0 ? "." + name : "")}");

    private static string Describe(JsonElement v)
    {
        string raw = v.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "...";
    }
}

/// <summary>The per-container sections of a config: <c>runtimeConfig</c>, whether <c>args</c> is there, and <c>args.cni</c>.</summary>
public readonly record struct PerContainerSections(JsonElement? RuntimeConfig, bool HasArgs, JsonElement? ArgsCni);
