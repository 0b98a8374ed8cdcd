using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Twill.Core;

/// <summary>Decodes net-conf.json the way Go's encoding/json fills Flannel's Config: case-insensitive keys, last one wins, null leaves a field unset.</summary>
internal sealed class NetworkConfigReader(string source)
{
    public List<ConfigError> Errors { get; } = [];

    public List<string> Warnings { get; } = [];

    /// <summary>Fields whose value could not be decoded, so validation does not also call them "missing".</summary>
    public HashSet<string> BadFields { get; } = new(StringComparer.Ordinal);

    public NetworkConfig? Read(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            Errors.Add(new(source, null, $"not valid JSON: {e.Message}"));
            return null;
        }
        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Errors.Add(new(source, null, $"expected a JSON object, got {Describe(root)}"));
                return null;
            }
            bool enable4 = true, enable6 = false, nft = false;
            IPNetwork? network = null, network6 = null;
            int subnetLen = 0, subnetLen6 = 0;
            IPAddress? min = null, max = null, min6 = null, max6 = null;
            BackendConfig? backend = null;
            bool backendSeen = false;
            foreach (JsonProperty property in root.EnumerateObject())
            {
                JsonElement value = property.Value;
                string? field = Canonical(property.Name, NetworkKeys);
                if (field is null)
                {
                    Warnings.Add($"{source}: unknown key \"{property.Name}\" ignored");
                    continue;
                }
                if (value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }
                switch (field)
                {
                    case "EnableIPv4": enable4 = ReadBool(field, value) ?? enable4; break;
                    case "EnableIPv6": enable6 = ReadBool(field, value) ?? enable6; break;
                    case "EnableNFTables": nft = ReadBool(field, value) ?? nft; break;
                    case "Network": network = ReadNetwork(field, value, AddressFamily.InterNetwork) ?? network; break;
                    case "IPv6Network": network6 = ReadNetwork(field, value, AddressFamily.InterNetworkV6) ?? network6; break;
                    case "SubnetLen": subnetLen = ReadInt(field, value, 0, 32) ?? subnetLen; break;
                    case "IPv6SubnetLen": subnetLen6 = ReadInt(field, value, 0, 128) ?? subnetLen6; break;
                    case "SubnetMin": min = ReadAddress(field, value, AddressFamily.InterNetwork) ?? min; break;
                    case "SubnetMax": max = ReadAddress(field, value, AddressFamily.InterNetwork) ?? max; break;
                    case "IPv6SubnetMin": min6 = ReadAddress(field, value, AddressFamily.InterNetworkV6) ?? min6; break;
                    case "IPv6SubnetMax": max6 = ReadAddress(field, value, AddressFamily.InterNetworkV6) ?? max6; break;
                    case "Backend":
                        backendSeen = true;
                        backend = ReadBackend(value);
                        break;
                }
            }
            if (!backendSeen)
            {
                Errors.Add(new(source, "Backend", $"Backend is missing; set \"Backend\": {{\"Type\": ...}} to one of {string.Join(", ", BackendConfig.SupportedTypes)} " +
                    "(Flannel would silently fall back to the deprecated udp backend)"));
            }
            return new NetworkConfig
            {
                EnableIPv4 = enable4,
                EnableIPv6 = enable6,
                EnableNFTables = nft,
                Network = network,
                SubnetLen = subnetLen,
                SubnetMin = min,
                SubnetMax = max,
                IPv6Network = network6,
                IPv6SubnetLen = subnetLen6,
                IPv6SubnetMin = min6,
                IPv6SubnetMax = max6,
                // A placeholder only when Backend was bad or missing; its error is already recorded.
                Backend = backend ?? new HostGwBackendConfig(),
            };
        }
    }

    private static readonly string[] NetworkKeys =
    [
        "EnableIPv4", "EnableIPv6", "EnableNFTables", "Network", "SubnetLen", "SubnetMin", "SubnetMax",
        "IPv6Network", "IPv6SubnetLen", "IPv6SubnetMin", "IPv6SubnetMax", "Backend",
    ];

    private static readonly string[] VxlanKeys = ["Type", "VNI", "Port", "MTU", "GBP", "Learning", "DirectRouting", "MacPrefix", "Name"];

    private static readonly string[] HostGwKeys = ["Type", "Name"];

    private BackendConfig? ReadBackend(JsonElement value)
    {
        const string field = "Backend";
        if (value.ValueKind != JsonValueKind.Object)
        {
            Fail(field, $"{field} {Describe(value)} is not an object with a Type");
            return null;
        }
        string? type = null;
        foreach (JsonProperty p in value.EnumerateObject())
        {
            if (string.Equals(p.Name, "Type", StringComparison.OrdinalIgnoreCase))
            {
                if (p.Value.ValueKind == JsonValueKind.String)
                {
                    type = p.Value.GetString();
                }
                else if (p.Value.ValueKind != JsonValueKind.Null)
                {
                    Fail(field, $"Backend.Type {Describe(p.Value)} is not a string");
                    return null;
                }
            }
        }
        string supported = string.Join(", ", BackendConfig.SupportedTypes);
        if (string.IsNullOrEmpty(type))
        {
            Fail(field, $"Backend.Type is missing; set it to one of {supported} (Flannel would silently fall back to the deprecated udp backend)");
            return null;
        }
        switch (type)
        {
            case "vxlan":
                return ReadVxlan(value);
            case "host-gw":
                foreach (JsonProperty p in value.EnumerateObject())
                {
                    if (Canonical(p.Name, HostGwKeys) is null)
                    {
                        Warnings.Add($"{source}: unknown key \"Backend.{p.Name}\" ignored (host-gw has no options)");
                    }
                }
                return new HostGwBackendConfig();
            case "bgp":
                return new BgpBackendSection { Json = value.GetRawText() };
            default:
                Fail(field, BackendConfig.FlannelOnlyTypes.Contains(type)
                    ? $"Backend.Type \"{type}\" is a Flannel backend not supported by Twill; use one of {supported}"
                    : $"Backend.Type \"{type}\" is not a known backend type; use one of {supported}");
                return null;
        }
    }

    private VxlanBackendConfig ReadVxlan(JsonElement value)
    {
        VxlanBackendConfig config = new();
        foreach (JsonProperty p in value.EnumerateObject())
        {
            string? key = Canonical(p.Name, VxlanKeys);
            if (key is null)
            {
                Warnings.Add($"{source}: unknown key \"Backend.{p.Name}\" ignored");
                continue;
            }
            if (p.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }
            string field = "Backend." + key;
            switch (key)
            {
                case "VNI": config = config with { Vni = ReadInt(field, p.Value, 1, 16_777_215) ?? config.Vni }; break;
                case "Port": config = config with { Port = ReadInt(field, p.Value, 0, 65_535) ?? config.Port }; break;
                case "MTU":
                    int? mtu = ReadInt(field, p.Value, 0, 65_535);
                    if (mtu is > 0 and < 68)
                    {
                        Fail(field, $"{field} {mtu} is below the IPv4 minimum MTU 68 (0 means: underlay MTU - 50)");
                    }
                    else
                    {
                        config = config with { Mtu = mtu ?? config.Mtu };
                    }
                    break;
                case "GBP": config = config with { Gbp = ReadBool(field, p.Value) ?? config.Gbp }; break;
                case "Learning": config = config with { Learning = ReadBool(field, p.Value) ?? config.Learning }; break;
                case "DirectRouting": config = config with { DirectRouting = ReadBool(field, p.Value) ?? config.DirectRouting }; break;
                case "MacPrefix":
                    string? prefix = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                    if (prefix is not { Length: 5 } || prefix[2] != '-' || !IsHex(prefix[0]) || !IsHex(prefix[1]) || !IsHex(prefix[3]) || !IsHex(prefix[4]))
                    {
                        Fail(field, $"{field} {Describe(p.Value)} is not of the form xx-xx (e.g. 0E-2A)");
                    }
                    else
                    {
                        config = config with { MacPrefix = prefix };
                    }
                    break;
                default:
                    break; // Type, and Windows' Name: accepted, not used on Linux.
            }
        }
        return config;
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static string? Canonical(string name, string[] keys)
    {
        // Go's decoder prefers an exact match, then a case-insensitive one; with distinct key names both give the same answer.
        foreach (string key in keys)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return key;
            }
        }
        return null;
    }

    private bool? ReadBool(string field, JsonElement value)
    {
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }
        Fail(field, $"{field} {Describe(value)} is not true or false");
        return null;
    }

    private int? ReadInt(string field, JsonElement value, int min, int max)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) && n >= min && n <= max)
        {
            return (int)n;
        }
        Fail(field, $"{field} {Describe(value)} is not a whole number from {min} to {max}");
        return null;
    }

    private IPNetwork? ReadNetwork(string field, JsonElement value, AddressFamily family)
    {
        string example = family == AddressFamily.InterNetwork ? "10.244.0.0/16" : "fd00:10:244::/56";
        if (value.ValueKind != JsonValueKind.String)
        {
            Fail(field, $"{field} {Describe(value)} is not a CIDR string (e.g. \"{example}\")");
            return null;
        }
        string text = value.GetString()!;
        if (!SubnetMath.TryParseNetwork(text, out IPNetwork network, out string? error))
        {
            Fail(field, $"{field} {text} {error}");
            return null;
        }
        if (network.BaseAddress.AddressFamily != family)
        {
            Fail(field, $"{field} {text} is not an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} network (e.g. {example})");
            return null;
        }
        return network;
    }

    private IPAddress? ReadAddress(string field, JsonElement value, AddressFamily family)
    {
        string? text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (!SubnetMath.TryParseAddress(text, out IPAddress? address) || address.AddressFamily != family)
        {
            Fail(field, $"{field} {Describe(value)} is not an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address");
            return null;
        }
        return address;
    }

    private void Fail(string field, string message)
    {
        BadFields.Add(field.StartsWith("Backend", StringComparison.Ordinal) ? "Backend" : field);
        Errors.Add(new(source, field, message));
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Object => "{...}",
        JsonValueKind.Array => "[...]",
        _ => value.GetRawText(),
    };
}
