using System.Text.Json;

namespace Twill.Cni.Protocol;

/// <summary>
/// One call of a plugin: the CNI_* environment (validated), the config bytes from stdin and the
/// config's common keys. A delegate called in-process gets a copy with its own command and config.
/// </summary>
public sealed class CniInvocation
{
    public required string Command { get; init; }
    public string ContainerId { get; init; } = "";
    public string Netns { get; init; } = "";
    public string IfName { get; init; } = "";
    public CniArgs Args { get; init; } = CniArgs.Empty;
    public string CniPath { get; init; } = "";

    /// <summary>The config exactly as received (delegates get bytes, not a re-serialisation).</summary>
    public required byte[] StdinData { get; init; }

    public required JsonElement Config { get; init; }
    public required string CniVersion { get; init; }
    public string Name { get; init; } = "";
    public string Type { get; init; } = "";

    /// <summary>The environment the call came with, for delegates run as processes.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The seams this call reaches the OS through; delegates called in-process share it.</summary>
    public PluginContext Context { get; init; } = PluginContext.Default;

    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <summary>
    /// Parses a config as the reference's skel does: bad JSON is code 6, an unsupported cniVersion
    /// code 1, a missing or bad network name code 7.
    /// </summary>
    public static (JsonElement Root, string Version, string Name, string Type) ParseConfig(byte[] data)
    {
        JsonElement root;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(data, DocumentOptions);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"error unmarshall network config: {e.Message}");
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"error unmarshall network config: expected a JSON object, got {root.ValueKind}");
        }
        RequireText(root);
        string version = StringField(root, "cniVersion") ?? "";
        if (version.Length == 0)
        {
            version = CniVersions.Default;
        }
        if (!CniVersions.IsSupported(version))
        {
            throw new CniException(CniErrorCode.IncompatibleVersion, "incompatible CNI versions",
                $"config is \"{version}\", plugin supports [{string.Join(' ', CniVersions.Supported.Select(v => $"\"{v}\""))}]");
        }
        string name = StringField(root, "name") ?? "";
        if (name.Length == 0)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing network name: the config needs a \"name\"");
        }
        Validation.NetworkName(name);
        return (root, version, name, StringField(root, "type") ?? "");
    }

    /// <summary>A copy for a delegate: same environment, another command and config.</summary>
    public CniInvocation ForDelegate(string command, byte[] config)
    {
        (JsonElement root, string version, string name, string type) = ParseConfig(config);
        return new CniInvocation
        {
            Command = command,
            ContainerId = ContainerId,
            Netns = Netns,
            IfName = IfName,
            Args = Args,
            CniPath = CniPath,
            StdinData = config,
            Config = root,
            CniVersion = version,
            Name = name,
            Type = type,
            Environment = Environment,
            Context = Context,
        };
    }

    /// <summary>The chained result before this plugin (null when the config has none).</summary>
    public CniResult? PrevResult =>
        ResultReader.TryGet(Config, "prevResult", out JsonElement p) && p.ValueKind == JsonValueKind.Object
            ? ResultReader.Read(p)
            : null;

    /// <summary>runtimeConfig.&lt;key&gt; (a capability's value), raw.</summary>
    public JsonElement? RuntimeConfig(string key) =>
        ResultReader.TryGet(Config, "runtimeConfig", out JsonElement rc) && ResultReader.TryGet(rc, key, out JsonElement v) ? v : null;

    /// <summary>
    /// JsonDocument checks a string's UTF-8 (and its escaped surrogates) only when the string is read,
    /// as an InvalidOperationException from wherever a plugin reads it (code 999). Every name and
    /// string is read once here instead, so such a config is a decoding failure (code 6). Go would put
    /// U+FFFD in place of the bad bytes; no runtime sends them, so refusing is the clearer answer.
    /// </summary>
    private static void RequireText(JsonElement e)
    {
        try
        {
            Walk(e);
        }
        catch (InvalidOperationException ex)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"error unmarshall network config: {ex.Message}");
        }

        static void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (JsonProperty p in e.EnumerateObject())
                    {
                        _ = p.Name;
                        Walk(p.Value);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (JsonElement item in e.EnumerateArray())
                    {
                        Walk(item);
                    }
                    break;
                case JsonValueKind.String:
                    _ = e.GetString();
                    break;
                default:
                    break;
            }
        }
    }

    public static string? StringField(JsonElement e, string name)
    {
        if (!ResultReader.TryGet(e, name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : throw new CniException(CniErrorCode.DecodingFailure, $"error unmarshall network config: \"{name}\" must be a string, got {v.ValueKind}");
    }
}

/// <summary>The reference's name checks (utils.Validate*), with its messages.</summary>
public static class Validation
{
    public static void ContainerId(string id)
    {
        if (id.Length == 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "missing containerID");
        }
        if (!IsIdentifier(id))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"invalid characters in containerID \"{id}\": allowed are letters, digits, '_', '.', '-' (not first)");
        }
    }

    public static void NetworkName(string name)
    {
        if (!IsIdentifier(name))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid characters found in network name \"{name}\": allowed are letters, digits, '_', '.', '-' (not first)");
        }
    }

    public static void InterfaceName(string ifName)
    {
        if (ifName.Length == 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "interface name is empty (CNI_IFNAME)");
        }
        if (ifName.Length > 15)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"interface name is too long: \"{ifName}\" has {ifName.Length} characters, the kernel allows 15");
        }
        if (ifName is "." or "..")
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"interface name is . or ..");
        }
        if (ifName.Any(c => c == '/' || c == ':' || char.IsWhiteSpace(c)))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"interface name \"{ifName}\" contains / or : or whitespace characters");
        }
    }

    private static bool IsIdentifier(string s)
    {
        if (s.Length == 0 || !char.IsAsciiLetterOrDigit(s[0]))
        {
            return false;
        }
        foreach (char c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '.' && c != '-')
            {
                return false;
            }
        }
        return true;
    }
}
