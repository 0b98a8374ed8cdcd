using System.Net.Sockets;
using System.Text.Json;
using Twill.Core;

namespace Twill.Cni.Protocol;

/// <summary>
/// Prints a result for a given cniVersion exactly as the reference prints it (Go's MarshalIndent
/// with four spaces, fields in the reference structs' order, empty lists left out, "dns" always).
/// </summary>
public static class ResultWriter
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true, IndentSize = 4, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] ToJson(CniResult result, string cniVersion)
    {
        using MemoryStream ms = new();
        using (Utf8JsonWriter w = new(ms, Indented))
        {
            Write(w, result, cniVersion);
        }
        return ms.ToArray();
    }

    public static void Write(Utf8JsonWriter w, CniResult result, string cniVersion)
    {
        if (!CniVersions.AtLeast(cniVersion, "0.3.0"))
        {
            Write02(w, result, cniVersion);
            return;
        }
        bool v1 = CniVersions.AtLeast(cniVersion, "1.0.0");
        bool v11 = CniVersions.AtLeast(cniVersion, "1.1.0");
        w.WriteStartObject();
        w.WriteString("cniVersion", cniVersion);
        if (result.Interfaces.Count > 0)
        {
            w.WriteStartArray("interfaces");
            foreach (CniInterface i in result.Interfaces)
            {
                w.WriteStartObject();
                w.WriteString("name", i.Name);
                WriteIf(w, "mac", i.Mac);
                if (v11 && i.Mtu is int mtu && mtu != 0)
                {
                    w.WriteNumber("mtu", mtu);
                }
                WriteIf(w, "sandbox", i.Sandbox);
                if (v11)
                {
                    WriteIf(w, "socketPath", i.SocketPath);
                    WriteIf(w, "pciID", i.PciId);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (result.Ips.Count > 0)
        {
            w.WriteStartArray("ips");
            foreach (CniIpConfig ip in result.Ips)
            {
                w.WriteStartObject();
                if (!v1)
                {
                    w.WriteString("version", ip.Address.Address.AddressFamily == AddressFamily.InterNetworkV6 ? "6" : "4");
                }
                if (ip.Interface is int idx)
                {
                    w.WriteNumber("interface", idx);
                }
                w.WriteString("address", ip.Address.ToString());
                WriteIf(w, "gateway", ip.Gateway?.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (result.Routes.Count > 0)
        {
            w.WriteStartArray("routes");
            foreach (CniRoute r in result.Routes)
            {
                WriteRoute(w, r, v11);
            }
            w.WriteEndArray();
        }
        WriteDns(w, result.Dns);
        w.WriteEndObject();
    }

    /// <summary>0.1.0/0.2.0: one ip4 and one ip6 block, routes filed under the family of their destination.</summary>
    private static void Write02(Utf8JsonWriter w, CniResult result, string cniVersion)
    {
        CniIpConfig? ip4 = result.Ips.FirstOrDefault(i => i.Address.Address.AddressFamily == AddressFamily.InterNetwork);
        CniIpConfig? ip6 = result.Ips.FirstOrDefault(i => i.Address.Address.AddressFamily == AddressFamily.InterNetworkV6);
        if (ip4 is null && ip6 is null)
        {
            throw new CniException(CniErrorCode.Internal, "cannot convert: no valid IP addresses");
        }
        w.WriteStartObject();
        w.WriteString("cniVersion", cniVersion);
        foreach ((string key, CniIpConfig? ip, AddressFamily family) in new[] { ("ip4", ip4, AddressFamily.InterNetwork), ("ip6", ip6, AddressFamily.InterNetworkV6) })
        {
            if (ip is null)
            {
                continue;
            }
            w.WriteStartObject(key);
            w.WriteString("ip", ip.Address.ToString());
            WriteIf(w, "gateway", ip.Gateway?.ToString());
            List<CniRoute> routes = [.. result.Routes.Where(r => r.Dst.Address.AddressFamily == family)];
            if (routes.Count > 0)
            {
                w.WriteStartArray("routes");
                foreach (CniRoute r in routes)
                {
                    WriteRoute(w, r, v11: false);
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        WriteDns(w, result.Dns);
        w.WriteEndObject();
    }

    private static void WriteRoute(Utf8JsonWriter w, CniRoute r, bool v11)
    {
        w.WriteStartObject();
        w.WriteString("dst", r.Dst.ToString());
        WriteIf(w, "gw", r.Gw?.ToString());
        if (v11)
        {
            WriteIf(w, "mtu", r.Mtu);
            WriteIf(w, "advmss", r.AdvMss);
            WriteIf(w, "priority", r.Priority);
            WriteIf(w, "table", r.Table);
            WriteIf(w, "scope", r.Scope);
        }
        w.WriteEndObject();
    }

    private static void WriteDns(Utf8JsonWriter w, CniDns dns)
    {
        w.WriteStartObject("dns");
        WriteList(w, "nameservers", dns.Nameservers);
        WriteIf(w, "domain", dns.Domain);
        WriteList(w, "search", dns.Search);
        WriteList(w, "options", dns.Options);
        w.WriteEndObject();
    }

    private static void WriteList(Utf8JsonWriter w, string name, List<string> items)
    {
        if (items.Count == 0)
        {
            return;
        }
        w.WriteStartArray(name);
        foreach (string s in items)
        {
            w.WriteStringValue(s);
        }
        w.WriteEndArray();
    }

    private static void WriteIf(Utf8JsonWriter w, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteIf(Utf8JsonWriter w, string name, int? value)
    {
        if (value is int v && v != 0)
        {
            w.WriteNumber(name, v);
        }
    }
}

/// <summary>Reads a result of any version (a prevResult, a delegate's stdout) into the current model.</summary>
public static class ResultReader
{
    public static CniResult Read(JsonElement e, string what = "prevResult")
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"{what}: expected a JSON object, got {e.ValueKind}");
        }
        CniResult r = new();
        foreach (JsonProperty p in e.EnumerateObject())
        {
            switch (p.Name.ToLowerInvariant())
            {
                case "interfaces" when p.Value.ValueKind == JsonValueKind.Array:
                    foreach (JsonElement i in p.Value.EnumerateArray())
                    {
                        r.Interfaces.Add(new CniInterface(Str(i, "name") ?? "", Str(i, "mac"), Str(i, "sandbox"))
                        {
                            Mtu = Int(i, "mtu"),
                            SocketPath = Str(i, "socketPath"),
                            PciId = Str(i, "pciID"),
                        });
                    }
                    break;
                case "ips" when p.Value.ValueKind == JsonValueKind.Array:
                    foreach (JsonElement i in p.Value.EnumerateArray())
                    {
                        r.Ips.Add(new CniIpConfig(Cidr(i, "address", what, mask: false), Ip(i, "gateway", what), Int(i, "interface")));
                    }
                    break;
                case "routes" when p.Value.ValueKind == JsonValueKind.Array:
                    r.Routes.AddRange(Routes(p.Value, what));
                    break;
                case "ip4" or "ip6" when p.Value.ValueKind == JsonValueKind.Object:
                    r.Ips.Add(new CniIpConfig(Cidr(p.Value, "ip", what, mask: false), Ip(p.Value, "gateway", what)));
                    if (p.Value.TryGetProperty("routes", out JsonElement rs) && rs.ValueKind == JsonValueKind.Array)
                    {
                        r.Routes.AddRange(Routes(rs, what));
                    }
                    break;
                case "dns" when p.Value.ValueKind == JsonValueKind.Object:
                    r.Dns = ReadDns(p.Value);
                    break;
                default:
                    break;
            }
        }
        return r;
    }

    public static CniDns ReadDns(JsonElement d) => new()
    {
        Nameservers = StrList(d, "nameservers"),
        Domain = Str(d, "domain"),
        Search = StrList(d, "search"),
        Options = StrList(d, "options"),
    };

    private static IEnumerable<CniRoute> Routes(JsonElement array, string what)
    {
        foreach (JsonElement x in array.EnumerateArray())
        {
            yield return new CniRoute(Cidr(x, "dst", what, mask: true), Ip(x, "gw", what))
            {
                Mtu = Int(x, "mtu"),
                AdvMss = Int(x, "advmss"),
                Priority = Int(x, "priority"),
                Table = Int(x, "table"),
                Scope = Int(x, "scope"),
            };
        }
    }

    internal static string? Str(JsonElement e, string name) =>
        TryGet(e, name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string name) =>
        TryGet(e, name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;

    private static List<string> StrList(JsonElement e, string name)
    {
        List<string> list = [];
        if (TryGet(e, name, out JsonElement v) && v.ValueKind == JsonValueKind.Array)
        {
            list.AddRange(v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!));
        }
        return list;
    }

    private static System.Net.IPAddress? Ip(JsonElement e, string name, string what)
    {
        string? s = Str(e, name);
        if (string.IsNullOrEmpty(s))
        {
            return null;
        }
        return System.Net.IPAddress.TryParse(s, out System.Net.IPAddress? a)
            ? a
            : throw new CniException(CniErrorCode.DecodingFailure, $"{what}: {name} \"{s}\" is not an IP address");
    }

    private static InterfaceAddress Cidr(JsonElement e, string name, string what, bool mask)
    {
        string? s = Str(e, name);
        return Cidrs.TryParse(s, mask, out InterfaceAddress a)
            ? a
            : throw new CniException(CniErrorCode.DecodingFailure, $"{what}: {name} \"{s}\" is not a CIDR (e.g. 10.244.1.2/24)");
    }

    /// <summary>Go's decoder matches keys case-insensitively; so do we.</summary>
    internal static bool TryGet(JsonElement e, string name, out JsonElement value)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            if (e.TryGetProperty(name, out value))
            {
                return true;
            }
            foreach (JsonProperty p in e.EnumerateObject())
            {
                if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    value = p.Value;
                    return true;
                }
            }
        }
        value = default;
        return false;
    }
}
