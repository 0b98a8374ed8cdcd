using System.Text.Json;
using System.Text.Json.Nodes;

namespace Twill.Lab;

/// <summary>
/// A CNI network configuration list (a "conflist"), as a runtime reads it: the list's name and
/// version, and each plugin's own object. <see cref="PluginConfig"/> builds what one plugin gets on
/// stdin the way libcni does (name and cniVersion injected, prevResult chained, the runtimeConfig
/// of only the capabilities the plugin declares).
/// </summary>
public sealed class CniConfList
{
    private readonly JsonObject[] _plugins;

    private CniConfList(string name, string? cniVersion, JsonObject[] plugins)
    {
        Name = name;
        CniVersion = cniVersion;
        _plugins = plugins;
    }

    public string Name { get; }

    /// <summary>The list's cniVersion; null when the file has none (the seed's has none).</summary>
    public string? CniVersion { get; }

    public int Count => _plugins.Length;

    /// <summary>Each plugin's <c>type</c>, the binary's name under CNI_PATH.</summary>
    public IReadOnlyList<string> Types => _plugins.Select(p => (string)p["type"]!).ToArray();

    /// <summary>Parses and validates a conflist; every problem is reported, each naming the field.</summary>
    public static CniConfList Parse(string json, string source = "cni-conf.json")
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new LabConfigException($"{source}: not valid JSON: {e.Message}");
        }
        if (root is not JsonObject list)
        {
            throw new LabConfigException($"{source}: a CNI conflist must be a JSON object with \"name\" and \"plugins\"");
        }

        List<string> errors = [];
        string? name = StringField(list, "name", source, errors);
        if (name is not null && name.Length == 0)
        {
            errors.Add($"{source}: \"name\" is empty");
        }
        string? version = list["cniVersion"] is null ? null : StringField(list, "cniVersion", source, errors);

        List<JsonObject> plugins = [];
        if (list["plugins"] is not JsonArray array)
        {
            errors.Add($"{source}: \"plugins\" must be an array of plugin objects (a single .conf is not a conflist)");
        }
        else
        {
            if (array.Count == 0)
            {
                errors.Add($"{source}: \"plugins\" is empty");
            }
            for (int i = 0; i < array.Count; i++)
            {
                if (array[i] is not JsonObject plugin)
                {
                    errors.Add($"{source}: plugins[{i}] is not an object");
                    continue;
                }
                if (plugin["type"] is not JsonValue t || !t.TryGetValue(out string? type) || string.IsNullOrEmpty(type))
                {
                    errors.Add($"{source}: plugins[{i}].type is missing or not a string");
                    continue;
                }
                if (type.Contains('/', StringComparison.Ordinal) || type.Contains("..", StringComparison.Ordinal))
                {
                    errors.Add($"{source}: plugins[{i}].type \"{type}\" must be a plain binary name");
                    continue;
                }
                plugins.Add((JsonObject)plugin.DeepClone());
            }
        }

        if (errors.Count > 0)
        {
            throw new LabConfigException(string.Join(Environment.NewLine, errors));
        }
        return new CniConfList(name!, version, [.. plugins]);
    }

    /// <summary>
    /// The stdin of plugin <paramref name="index"/>: its object with the list's name and cniVersion,
    /// <paramref name="prevResult"/> when there is one, <c>runtimeConfig</c> holding each of
    /// <paramref name="capabilityArgs"/> the plugin declares in <c>capabilities</c>, and
    /// <paramref name="extra"/> keys added where the plugin does not set them already.
    /// </summary>
    public string PluginConfig(
        int index,
        JsonNode? prevResult,
        IReadOnlyDictionary<string, JsonNode> capabilityArgs,
        IReadOnlyDictionary<string, JsonNode>? extra = null)
    {
        JsonObject config = (JsonObject)_plugins[index].DeepClone();
        config["name"] = Name;
        if (CniVersion is not null)
        {
            config["cniVersion"] = CniVersion;
        }
        if (prevResult is not null)
        {
            config["prevResult"] = prevResult.DeepClone();
        }

        if (config["capabilities"] is JsonObject caps)
        {
            JsonObject runtime = config["runtimeConfig"] as JsonObject ?? [];
            foreach ((string capability, JsonNode value) in capabilityArgs)
            {
                if (caps[capability] is JsonValue on && on.TryGetValue(out bool enabled) && enabled)
                {
                    runtime[capability] = value.DeepClone();
                }
            }
            if (runtime.Count > 0)
            {
                config["runtimeConfig"] = runtime;
            }
        }

        if (extra is not null)
        {
            foreach ((string key, JsonNode value) in extra)
            {
                MergeMissing(config, key, value);
            }
        }
        return config.ToJsonString();
    }

    // Adds key=value where absent; for objects, recurses so the user's own inner keys win.
    private static void MergeMissing(JsonObject target, string key, JsonNode value)
    {
        JsonNode? existing = target[key];
        if (existing is null)
        {
            target[key] = value.DeepClone();
        }
        else if (existing is JsonObject inner && value is JsonObject add)
        {
            foreach ((string k, JsonNode? v) in add)
            {
                if (v is not null)
                {
                    MergeMissing(inner, k, v);
                }
            }
        }
    }

    private static string? StringField(JsonObject o, string field, string source, List<string> errors)
    {
        if (o[field] is JsonValue v && v.TryGetValue(out string? s))
        {
            return s;
        }
        errors.Add($"{source}: \"{field}\" is missing or not a string");
        return null;
    }
}

/// <summary>A lab configuration the user gave (options, net-conf, conflist) cannot work; the message says why.</summary>
public sealed class LabConfigException : Exception
{
    public LabConfigException(string message) : base(message)
    {
    }

    public LabConfigException()
    {
    }

    public LabConfigException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
