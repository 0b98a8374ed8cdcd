using System.Globalization;
using System.Net;
using System.Text.Json;
using Twill.Bgp.Session;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Config;

/// <summary>
/// Reads and validates the "bgp" <c>Backend</c> object (shape in <see cref="BgpBackendConfig"/>).
/// Every problem is reported at once, each naming its field (<c>Backend.Peers[0].ASN</c>) and value.
/// </summary>
public static class BgpBackendConfigReader
{
    private static readonly string[] BackendKeys =
        ["Type", "Mode", "ASN", "NodeASNs", "RouterID", "Peers", "GracefulRestart", "RestartTime", "Communities", "ImportRoutes", "MaxPrefixes", "ConnectTimeout"];

    private static readonly string[] PeerKeys = ["Address", "ASN", "Port", "HoldTime", "Password", "PasswordFile"];

    /// <summary>Parses the Backend object's JSON text.</summary>
    public static BgpBackendConfig Parse(string json, out IReadOnlyList<string> warnings, string field = "Backend")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new BgpConfigException([$"{field}: not valid JSON: {e.Message}"]);
        }
        using (document)
        {
            return Read(document.RootElement, out warnings, field);
        }
    }

    /// <summary>Reads the Backend object of an already parsed net-conf.json.</summary>
    public static BgpBackendConfig Read(JsonElement backend, out IReadOnlyList<string> warnings, string field = "Backend")
    {
        List<string> errors = [];
        List<string> warn = [];
        warnings = warn;
        if (backend.ValueKind != JsonValueKind.Object)
        {
            throw new BgpConfigException([$"{field}: expected an object, got {backend.ValueKind}"]);
        }
        BgpBackendConfig config = new();
        bool asnSet = false;
        foreach ((string key, string name, JsonElement v) in KnownMembers(backend, BackendKeys, field, warn))
        {
            switch (key)
            {
                case "Type":
                    if (v.ValueKind != JsonValueKind.String || !string.Equals(v.GetString(), BgpBackendConfig.TypeName, StringComparison.OrdinalIgnoreCase))
                    {
                        errors.Add($"{name}: expected \"bgp\", got {v.GetRawText()}");
                    }
                    break;
                case "Mode":
                    string? mode = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                    if (string.Equals(mode, "bgp", StringComparison.OrdinalIgnoreCase))
                    {
                        config = config with { Mode = TorMode.Bgp };
                    }
                    else if (string.Equals(mode, "static", StringComparison.OrdinalIgnoreCase))
                    {
                        config = config with { Mode = TorMode.Static };
                    }
                    else
                    {
                        errors.Add($"{name}: expected \"bgp\" or \"static\", got {v.GetRawText()}");
                    }
                    break;
                case "ASN":
                    // Set, even when invalid: its own error says what is wrong, not also "missing".
                    asnSet = true;
                    if (ReadAsn(name, v, errors) is uint asn)
                    {
                        config = config with { Asn = asn };
                    }
                    break;
                case "NodeASNs":
                    if (v.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add($"{name}: expected an object of node name → ASN, got {v.GetRawText()}");
                        break;
                    }
                    Dictionary<string, uint> nodes = new(StringComparer.Ordinal);
                    foreach (JsonProperty node in v.EnumerateObject())
                    {
                        if (ReadAsn($"{name}.{node.Name}", node.Value, errors) is uint nodeAsn)
                        {
                            nodes[node.Name] = nodeAsn;
                        }
                    }
                    config = config with { NodeAsns = nodes };
                    break;
                case "RouterID":
                    if (ReadAddress(name, v, errors) is IPAddress id)
                    {
                        if (id.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || id.Equals(IPAddress.Any))
                        {
                            errors.Add($"{name}: a router ID is a non-zero IPv4 address, got \"{id}\"");
                        }
                        else
                        {
                            config = config with { RouterId = id };
                        }
                    }
                    break;
                case "Peers":
                    if (ReadArray<BgpPeerConfig>(name, v, "an array of peers", errors, (at, peer, into) =>
                        {
                            if (ReadPeer(at, peer, errors, warn) is BgpPeerConfig pc)
                            {
                                into.Add(pc);
                            }
                        }) is { } peers)
                    {
                        config = config with { Peers = peers };
                    }
                    break;
                case "GracefulRestart":
                    if (ReadBool(name, v, errors) is bool gr)
                    {
                        config = config with { GracefulRestart = gr };
                    }
                    break;
                case "RestartTime":
                    if (ReadInt(name, v, 1, GracefulRestartCapability.MaxRestartTime, errors) is int rt)
                    {
                        config = config with { RestartTime = (ushort)rt };
                    }
                    break;
                case "Communities":
                    if (ReadArray<uint>(name, v, "an array like [\"64512:100\"]", errors, (at, e, into) =>
                        {
                            if (e.ValueKind == JsonValueKind.String && CommunitiesAttribute.TryParse(e.GetString()!, out uint community))
                            {
                                into.Add(community);
                            }
                            else if (e.ValueKind == JsonValueKind.Number && e.TryGetUInt32(out uint number))
                            {
                                into.Add(number);
                            }
                            else
                            {
                                errors.Add($"{at}: expected \"high:low\" (each 0..65535) or a 32-bit number, got {e.GetRawText()}");
                            }
                        }) is { } communities)
                    {
                        config = config with { Communities = communities };
                    }
                    break;
                case "ImportRoutes":
                    if (ReadBool(name, v, errors) is bool import)
                    {
                        config = config with { ImportRoutes = import };
                    }
                    break;
                case "MaxPrefixes":
                    if (ReadInt(name, v, 1, 1_000_000, errors) is int max)
                    {
                        config = config with { MaxPrefixes = max };
                    }
                    break;
                case "ConnectTimeout":
                    if (ReadInt(name, v, 1, 600, errors) is int seconds)
                    {
                        config = config with { ConnectTimeout = TimeSpan.FromSeconds(seconds) };
                    }
                    break;
            }
        }
        if (config.Mode == TorMode.Bgp)
        {
            if (!asnSet && config.NodeAsns.Count == 0)
            {
                errors.Add($"{field}.ASN: missing; set the nodes' AS number (e.g. 64512; private range 64512..65534 or 4200000000..4294967294)");
            }
            if (config.Peers.Count == 0 && !errors.Any(e => e.StartsWith($"{field}.Peers", StringComparison.Ordinal)))
            {
                errors.Add($"{field}.Peers: at least one peer (the ToR) is required in \"bgp\" mode, e.g. [{{\"Address\": \"198.51.100.1\", \"ASN\": 65000}}]");
            }
        }
        foreach (IGrouping<IPAddress, BgpPeerConfig> duplicate in config.Peers.GroupBy(p => p.Address).Where(g => g.Count() > 1))
        {
            errors.Add($"{field}.Peers: address {duplicate.Key} appears {duplicate.Count()} times");
        }
        return errors.Count > 0 ? throw new BgpConfigException(errors) : config;
    }

    private static BgpPeerConfig? ReadPeer(string field, JsonElement peer, List<string> errors, List<string> warnings)
    {
        if (peer.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{field}: expected an object like {{\"Address\": \"198.51.100.1\", \"ASN\": 65000}}, got {peer.GetRawText()}");
            return null;
        }
        IPAddress? address = null;
        uint? asn = null;
        int port = BgpPeerSettings.DefaultPort;
        ushort hold = BgpPeerSettings.DefaultHoldTime;
        string? password = null, passwordFile = null;
        int before = errors.Count;
        foreach ((string key, string name, JsonElement v) in KnownMembers(peer, PeerKeys, field, warnings))
        {
            switch (key)
            {
                case "Address": address = ReadAddress(name, v, errors); break;
                case "ASN": asn = ReadAsn(name, v, errors); break;
                case "Port": port = ReadInt(name, v, 1, 65535, errors) ?? port; break;
                case "HoldTime":
                    if (ReadInt(name, v, 0, 65535, errors) is int h)
                    {
                        if (h is 1 or 2)
                        {
                            errors.Add($"{name}: {h} s is not allowed (0 disables keepalives, otherwise at least 3; RFC 4271 §4.2)");
                        }
                        else
                        {
                            hold = (ushort)h;
                        }
                    }
                    break;
                case "Password":
                    password = ReadString(name, v, errors);
                    if (password is not null && (password.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(password) > TcpMd5.MaxKeyLength))
                    {
                        errors.Add($"{name}: a TCP-MD5 key of 1..{TcpMd5.MaxKeyLength} octets, got {System.Text.Encoding.UTF8.GetByteCount(password)}");
                    }
                    break;
                case "PasswordFile":
                    passwordFile = ReadString(name, v, errors);
                    if (passwordFile is not null && !Path.IsPathRooted(passwordFile))
                    {
                        errors.Add($"{name}: an absolute path, got \"{passwordFile}\"");
                    }
                    break;
            }
        }
        if (address is null && !errors.Skip(before).Any(e => e.StartsWith($"{field}.Address", StringComparison.Ordinal)))
        {
            errors.Add($"{field}.Address: missing (the peer's IPv4 or IPv6 address)");
        }
        if (asn is null && !errors.Skip(before).Any(e => e.StartsWith($"{field}.ASN", StringComparison.Ordinal)))
        {
            errors.Add($"{field}.ASN: missing (the peer's AS number)");
        }
        if (password is not null && passwordFile is not null)
        {
            errors.Add($"{field}: set Password or PasswordFile, not both");
        }
        return errors.Count > before || address is null || asn is null
            ? null
            : new BgpPeerConfig { Address = address, Asn = asn.Value, Port = port, HoldTime = hold, Password = password, PasswordFile = passwordFile };
    }

    private static uint? ReadAsn(string name, JsonElement v, List<string> errors)
    {
        uint? asn = null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetUInt32(out uint number))
        {
            asn = number;
        }
        else if (v.ValueKind == JsonValueKind.String)
        {
            // "asplain" strings and RFC 5396 "asdot" (high.low) are accepted too.
            string s = v.GetString()!;
            string[] dot = s.Split('.');
            if (dot.Length == 2 && ushort.TryParse(dot[0], CultureInfo.InvariantCulture, out ushort hi) && ushort.TryParse(dot[1], CultureInfo.InvariantCulture, out ushort lo))
            {
                asn = ((uint)hi << 16) | lo;
            }
            else if (uint.TryParse(s, CultureInfo.InvariantCulture, out uint plain))
            {
                asn = plain;
            }
        }
        if (asn is null)
        {
            errors.Add($"{name}: expected an AS number 1..4294967294, got {v.GetRawText()}");
            return null;
        }
        if (asn is 0 or OpenMessage.AsTrans or uint.MaxValue)
        {
            errors.Add($"{name}: {asn} is reserved (0, 23456 AS_TRANS and 4294967295 cannot be used)");
            return null;
        }
        return asn;
    }

    private static IPAddress? ReadAddress(string name, JsonElement v, List<string> errors)
    {
        if (v.ValueKind == JsonValueKind.String && IPAddress.TryParse(v.GetString(), out IPAddress? address) && !v.GetString()!.Contains('/', StringComparison.Ordinal))
        {
            return address;
        }
        errors.Add($"{name}: expected an IP address, got {v.GetRawText()}");
        return null;
    }

    private static int? ReadInt(string name, JsonElement v, int min, int max, List<string> errors)
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n >= min && n <= max)
        {
            return n;
        }
        errors.Add($"{name}: expected an integer {min}..{max}, got {v.GetRawText()}");
        return null;
    }

    /// <summary>
    /// What <paramref name="add"/> makes of each element (named <c>field[i]</c> in its errors), or null
    /// with an error when <paramref name="v"/> is not an array.
    /// </summary>
    private static List<T>? ReadArray<T>(string name, JsonElement v, string expected, List<string> errors, Action<string, JsonElement, List<T>> add)
    {
        if (v.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{name}: expected {expected}, got {v.GetRawText()}");
            return null;
        }
        List<T> items = [];
        int i = 0;
        foreach (JsonElement e in v.EnumerateArray())
        {
            add($"{name}[{i}]", e, items);
            i++;
        }
        return items;
    }

    private static bool? ReadBool(string name, JsonElement v, List<string> errors)
    {
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return v.GetBoolean();
        }
        errors.Add($"{name}: expected true or false, got {v.GetRawText()}");
        return null;
    }

    private static string? ReadString(string name, JsonElement v, List<string> errors)
    {
        if (v.ValueKind == JsonValueKind.String)
        {
            return v.GetString();
        }
        errors.Add($"{name}: expected a string, got {v.GetRawText()}");
        return null;
    }

    /// <summary>
    /// The object's members as (canonical key, field name, value), keys matched case-insensitively as
    /// Flannel's Go decoder does: an unknown key is a warning, a null value leaves the default.
    /// </summary>
    private static IEnumerable<(string Key, string Name, JsonElement Value)> KnownMembers(JsonElement obj, string[] keys, string field, List<string> warnings)
    {
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            string? key = keys.FirstOrDefault(k => string.Equals(k, p.Name, StringComparison.OrdinalIgnoreCase));
            if (key is null)
            {
                warnings.Add($"{field}.{p.Name}: unknown key ignored");
            }
            else if (p.Value.ValueKind != JsonValueKind.Null)
            {
                yield return (key, $"{field}.{key}", p.Value);
            }
        }
    }
}
