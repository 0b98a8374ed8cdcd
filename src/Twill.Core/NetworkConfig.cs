using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Twill.Core;

/// <summary>
/// The pod network's configuration, Flannel's <c>net-conf.json</c>. Read it with <see cref="Parse"/> or
/// <see cref="Load"/>: keys match case-insensitively (as Go's decoder does), unknown keys are warnings,
/// and the result is validated with Flannel's rules and defaults (SubnetLen, SubnetMin, SubnetMax
/// derived). A config built in code gets the same treatment from <see cref="Validated"/>.
/// </summary>
public sealed record NetworkConfig
{
    /// <summary>Flannel's default location (the kube-flannel ConfigMap mount).</summary>
    public const string DefaultPath = "/etc/kube-flannel/net-conf.json";

    /// <summary>Flannel enables IPv4 unless told otherwise.</summary>
    public bool EnableIPv4 { get; init; } = true;

    public bool EnableIPv6 { get; init; }

    /// <summary>Use nftables rather than iptables for masquerade/forward rules.</summary>
    public bool EnableNFTables { get; init; }

    /// <summary>The IPv4 pod network, e.g. 10.244.0.0/16. Required when <see cref="EnableIPv4"/>.</summary>
    public IPNetwork? Network { get; init; }

    /// <summary>Each node's IPv4 subnet length; 0 before validation means "derive" (24, or prefix+2 for small networks).</summary>
    public int SubnetLen { get; init; }

    /// <summary>The first subnet handed out; null before validation means "the second subnet of the network".</summary>
    public IPAddress? SubnetMin { get; init; }

    /// <summary>The last subnet handed out; null before validation means "the last subnet of the network".</summary>
    public IPAddress? SubnetMax { get; init; }

    public IPNetwork? IPv6Network { get; init; }

    /// <summary>Each node's IPv6 subnet length; 0 means derive (64, or prefix+2 for small networks).</summary>
    public int IPv6SubnetLen { get; init; }

    public IPAddress? IPv6SubnetMin { get; init; }

    public IPAddress? IPv6SubnetMax { get; init; }

    /// <summary>The backend and its options.</summary>
    public required BackendConfig Backend { get; init; }

    /// <summary>The IPv4 subnets nodes lease, or null when IPv4 is off. Only meaningful once validated.</summary>
    public SubnetPool? IPv4Pool =>
        EnableIPv4 && Network is IPNetwork network && SubnetMin is not null && SubnetMax is not null && SubnetLen > 0
            ? new SubnetPool(network, SubnetLen, SubnetMin, SubnetMax)
            : null;

    /// <summary>The IPv6 subnets nodes lease, or null when IPv6 is off. Only meaningful once validated.</summary>
    public SubnetPool? IPv6Pool =>
        EnableIPv6 && IPv6Network is IPNetwork network && IPv6SubnetMin is not null && IPv6SubnetMax is not null && IPv6SubnetLen > 0
            ? new SubnetPool(network, IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax)
            : null;

    /// <summary>Reads and validates a net-conf.json file; errors and warnings name the path.</summary>
    public static NetworkConfig Load(string path, out IReadOnlyList<string> warnings) =>
        Parse(File.ReadAllText(path), out warnings, path);

    /// <summary>
    /// Parses and validates net-conf.json text. Unknown keys come back in <paramref name="warnings"/>,
    /// one message per key. Every problem found is reported at once in a
    /// <see cref="NetworkConfigException"/>, each message naming the field and the value.
    /// </summary>
    public static NetworkConfig Parse(string json, out IReadOnlyList<string> warnings, string source = "net-conf.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        NetworkConfigReader reader = new(source);
        NetworkConfig? config = reader.Read(json);
        warnings = reader.Warnings;
        if (config is null || reader.Errors.Count > 0)
        {
            if (config is not null)
            {
                // Report the rule violations of the fields that did decode too, so one run shows every problem.
                NetworkConfigValidator.Validate(config, source, reader.Errors, reader.BadFields);
            }
            throw new NetworkConfigException(reader.Errors);
        }
        List<string> errors = [];
        NetworkConfig validated = NetworkConfigValidator.Validate(config, source, errors, reader.BadFields);
        return errors.Count > 0 ? throw new NetworkConfigException(errors) : validated;
    }

    /// <summary>
    /// This config checked with Flannel's rules (plus Twill's stricter ones), with SubnetLen, SubnetMin
    /// and SubnetMax (and their IPv6 twins) filled in. Throws <see cref="NetworkConfigException"/>
    /// listing every error.
    /// </summary>
    public NetworkConfig Validated(string source = "net-conf.json")
    {
        List<string> errors = [];
        NetworkConfig validated = NetworkConfigValidator.Validate(this, source, errors, new HashSet<string>());
        return errors.Count > 0 ? throw new NetworkConfigException(errors) : validated;
    }

    /// <summary>net-conf.json text for this config (Flannel's key names; derived values written out).</summary>
    public string ToJson()
    {
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            if (!EnableIPv4 || EnableIPv6)
            {
                w.WriteBoolean(nameof(EnableIPv4), EnableIPv4);
                w.WriteBoolean(nameof(EnableIPv6), EnableIPv6);
            }
            if (EnableNFTables)
            {
                w.WriteBoolean(nameof(EnableNFTables), true);
            }
            WriteNetwork(w, "Network", Network, "SubnetLen", SubnetLen, "SubnetMin", SubnetMin, "SubnetMax", SubnetMax);
            WriteNetwork(w, "IPv6Network", IPv6Network, "IPv6SubnetLen", IPv6SubnetLen, "IPv6SubnetMin", IPv6SubnetMin, "IPv6SubnetMax", IPv6SubnetMax);
            w.WriteStartObject(nameof(Backend));
            w.WriteString("Type", Backend.Type);
            if (Backend is VxlanBackendConfig vxlan)
            {
                w.WriteNumber("VNI", vxlan.Vni);
                if (vxlan.Port != 0)
                {
                    w.WriteNumber("Port", vxlan.Port);
                }
                if (vxlan.Mtu != 0)
                {
                    w.WriteNumber("MTU", vxlan.Mtu);
                }
                if (vxlan.Gbp)
                {
                    w.WriteBoolean("GBP", true);
                }
                if (vxlan.Learning)
                {
                    w.WriteBoolean("Learning", true);
                }
                if (vxlan.DirectRouting)
                {
                    w.WriteBoolean("DirectRouting", true);
                }
                if (vxlan.MacPrefix != VxlanBackendConfig.DefaultMacPrefix)
                {
                    w.WriteString("MacPrefix", vxlan.MacPrefix);
                }
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteNetwork(Utf8JsonWriter w, string networkKey, IPNetwork? network, string lenKey, int len, string minKey, IPAddress? min, string maxKey, IPAddress? max)
    {
        if (network is IPNetwork n)
        {
            w.WriteString(networkKey, n.ToString());
        }
        if (len != 0)
        {
            w.WriteNumber(lenKey, len);
        }
        if (min is not null)
        {
            w.WriteString(minKey, min.ToString());
        }
        if (max is not null)
        {
            w.WriteString(maxKey, max.ToString());
        }
    }
}

/// <summary>net-conf.json is invalid; <see cref="Errors"/> lists every problem, each naming field and value.</summary>
public sealed class NetworkConfigException : FormatException
{
    public NetworkConfigException(IReadOnlyList<string> errors)
        : base(string.Join(Environment.NewLine, errors)) => Errors = errors;

    public NetworkConfigException()
        : this([])
    {
    }

    public NetworkConfigException(string message)
        : this([message])
    {
    }

    public NetworkConfigException(string message, Exception innerException)
        : base(message, innerException) => Errors = [message];

    public IReadOnlyList<string> Errors { get; }
}

/// <summary>Decodes net-conf.json the way Go's encoding/json fills Flannel's Config: case-insensitive keys, last one wins, null leaves a field unset.</summary>
internal sealed class NetworkConfigReader(string source)
{
    public List<string> Errors { get; } = [];

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
            Errors.Add($"{source}: not valid JSON: {e.Message}");
            return null;
        }
        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Errors.Add($"{source}: expected a JSON object, got {Describe(root)}");
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
                Errors.Add($"{source}: Backend is missing; set \"Backend\": {{\"Type\": ...}} to one of {string.Join(", ", BackendConfig.SupportedTypes)} " +
                    "(Flannel would silently fall back to the deprecated udp backend)");
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
        Errors.Add($"{source}: {message}");
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Object => "{...}",
        JsonValueKind.Array => "[...]",
        _ => value.GetRawText(),
    };
}

/// <summary>Flannel's CheckNetworkConfig, reporting every violation instead of the first, plus checks Flannel lacks.</summary>
internal static class NetworkConfigValidator
{
    public static NetworkConfig Validate(NetworkConfig config, string source, List<string> errors, HashSet<string> badFields)
    {
        if (!config.EnableIPv4 && !config.EnableIPv6)
        {
            errors.Add($"{source}: EnableIPv4 false and EnableIPv6 false: at least one address family must be enabled");
        }
        NetworkConfig result = config;
        if (config.EnableIPv4)
        {
            Family f = CheckFamily(source, errors, badFields, new Family(
                "Network", config.Network, "SubnetLen", config.SubnetLen, "SubnetMin", config.SubnetMin, "SubnetMax", config.SubnetMax,
                DefaultLen: 24, MaxLen: 30, SmallestNetwork: 28, Bits: 32));
            result = result with { SubnetLen = f.Len, SubnetMin = f.Min, SubnetMax = f.Max };
        }
        if (config.EnableIPv6)
        {
            Family f = CheckFamily(source, errors, badFields, new Family(
                "IPv6Network", config.IPv6Network, "IPv6SubnetLen", config.IPv6SubnetLen, "IPv6SubnetMin", config.IPv6SubnetMin, "IPv6SubnetMax", config.IPv6SubnetMax,
                DefaultLen: 64, MaxLen: 126, SmallestNetwork: 124, Bits: 128));
            result = result with { IPv6SubnetLen = f.Len, IPv6SubnetMin = f.Min, IPv6SubnetMax = f.Max };
        }
        return result;
    }

    private sealed record Family(
        string NetworkField, IPNetwork? Network, string LenField, int Len, string MinField, IPAddress? Min, string MaxField, IPAddress? Max,
        int DefaultLen, int MaxLen, int SmallestNetwork, int Bits);

    private static Family CheckFamily(string source, List<string> errors, HashSet<string> badFields, Family f)
    {
        if (f.Network is not IPNetwork network)
        {
            if (!badFields.Contains(f.NetworkField))
            {
                errors.Add(f.NetworkField == "Network"
                    ? $"{source}: Network is missing (e.g. \"Network\": \"10.244.0.0/16\"); set EnableIPv4 false for an IPv6-only network"
                    : $"{source}: IPv6Network is missing but EnableIPv6 is true (e.g. \"IPv6Network\": \"fd00:10:244::/56\")");
            }
            return f;
        }
        int prefix = network.PrefixLength;
        int len = f.Len;
        if (badFields.Contains(f.LenField))
        {
            return f;
        }
        if (len > 0)
        {
            // Each subnet needs room for the network, the bridge/tunnel addresses and a pod.
            bool ok = true;
            if (len > f.MaxLen)
            {
                errors.Add($"{source}: {f.LenField} {len} is too long: the longest is /{f.MaxLen} (each node needs at least four addresses)");
                ok = false;
            }
            // Flannel never hands out the first subnet, so the network must split into at least four.
            if (len < prefix + 2)
            {
                errors.Add($"{source}: {f.LenField} {len} leaves {f.NetworkField} {network} fewer than four subnets (use /{prefix + 2} or longer)");
                ok = false;
            }
            if (!ok)
            {
                return f;
            }
        }
        else if (prefix > f.SmallestNetwork)
        {
            errors.Add($"{source}: {f.NetworkField} {network} is too small: the smallest usable network is /{f.SmallestNetwork}");
            return f;
        }
        else
        {
            len = prefix <= f.DefaultLen - 2 ? f.DefaultLen : prefix + 2;
        }

        AddressFamily family = network.BaseAddress.AddressFamily;
        UInt128 size = SubnetMath.Size(len, family);
        UInt128 start = SubnetMath.ToNumber(network.BaseAddress);
        UInt128 end = SubnetMath.EndExclusive(network);
        // The first subnet is skipped: its .0 address would be the network's own address.
        IPAddress min = f.Min ?? SubnetMath.ToAddress(start + size, family);
        IPAddress max = f.Max ?? SubnetMath.ToAddress(end - size, family);
        bool bounds = true;
        foreach ((string field, IPAddress? given, IPAddress value) in new[] { (f.MinField, f.Min, min), (f.MaxField, f.Max, max) })
        {
            if (given is null || badFields.Contains(field))
            {
                continue;
            }
            if (!network.Contains(value))
            {
                errors.Add($"{source}: {field} {value} is outside {f.NetworkField} {network}");
                bounds = false;
            }
            else if (!SubnetMath.IsAligned(value, len))
            {
                errors.Add($"{source}: {field} {value} is not on a /{len} boundary ({f.LenField} {len}; did you mean {new IPNetwork(value, len).BaseAddress}?)");
                bounds = false;
            }
        }
        if (bounds && SubnetMath.ToNumber(min) > SubnetMath.ToNumber(max))
        {
            errors.Add($"{source}: {f.MinField} {min} is after {f.MaxField} {max}: no subnet to hand out");
        }
        return f with { Len = len, Min = min, Max = max };
    }
}
