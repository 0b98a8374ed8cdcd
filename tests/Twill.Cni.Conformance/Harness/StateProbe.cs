using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Twill.Testing;

namespace Twill.Cni.Conformance.Harness;

/// <summary>
/// Describes the kernel and disk state a plugin run leaves, one sorted line per fact, with the
/// random parts normalised: links (kind, master, mtu, up/promisc, hairpin, vlan filtering),
/// addresses, routes, the sysctls the plugins touch, bridge VLANs, nftables bridge tables,
/// `iptables-save -t nat` (both families), and host-local's data dir byte for byte.
/// </summary>
public static partial class StateProbe
{
    public static IEnumerable<string> Node(Node node, Normalizer n)
    {
        List<string> lines = [.. Namespace(node.Ns, n, isNode: true)];
        lines.AddRange(DataDir(node.IpamDir).Select(n.Text));
        return lines;
    }

    public static IEnumerable<string> Pod(Pod pod, Normalizer n) => Namespace(pod.Ns, n, isNode: false);

    /// <summary>
    /// One shell inside the namespace prints every section (one `ip netns exec` instead of a dozen:
    /// the machine is shared and process starts are what a snapshot costs).
    /// </summary>
    private const string NodeScript = """
        echo @@@link; ip -j -d link show
        echo @@@addr; ip -j addr show
        echo @@@route4; ip -j -4 route show table all
        echo @@@route6; ip -j -6 route show table all
        echo @@@sysctl; grep -s -H . /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding /proc/sys/net/ipv4/conf/*/route_localnet
        echo @@@vlan; bridge -j vlan show
        echo @@@nat4; iptables-save -t nat
        echo @@@nat6; ip6tables-save -t nat
        nft list tables 2>/dev/null | while read -r _ fam name; do
          case $fam in bridge|netdev) echo "@@@nft $fam $name"; nft list table "$fam" "$name";; esac
        done
        """;

    private const string PodScript = """
        echo @@@link; ip -j -d link show
        echo @@@addr; ip -j addr show
        echo @@@route4; ip -j -4 route show table all
        echo @@@route6; ip -j -6 route show table all
        echo @@@sysctl; grep -s -H . /proc/sys/net/ipv6/conf/*/accept_dad /proc/sys/net/ipv4/conf/*/arp_notify
        """;

    /// <summary>Waits (up to 5 s) until no address in the namespace is tentative (IPv6 DAD in progress).</summary>
    public static void SettleAddresses(TestNetns ns)
    {
        for (int i = 0; i < 50; i++)
        {
            Tool.Result r = Tool.Run("ip", "-n", ns.Name, "-j", "addr", "show");
            if (r.ExitCode != 0 || !r.Stdout.Contains("\"tentative\":true", StringComparison.Ordinal))
            {
                return;
            }
            Thread.Sleep(100);
        }
    }

    public static IEnumerable<string> Namespace(TestNetns ns, Normalizer n, bool isNode)
    {
        Dictionary<string, string> sections = Sections(ns, isNode ? NodeScript : PodScript);
        List<string> lines = [];
        foreach (JsonElement l in Parse(sections, "link").EnumerateArray())
        {
            string name = l.GetProperty("ifname").GetString()!;
            string kind = Normalizer.Kind(l) ?? l.GetProperty("link_type").GetString()!;
            string[] flags = l.TryGetProperty("flags", out JsonElement f) ? [.. f.EnumerateArray().Select(x => x.GetString()!)] : [];
            StringBuilder sb = new($"link {name} kind={kind} mtu={l.GetProperty("mtu").GetInt32()}");
            sb.Append(flags.Contains("UP") ? " up" : " down");
            if (flags.Contains("PROMISC"))
            {
                sb.Append(" promisc");
            }
            if (l.TryGetProperty("master", out JsonElement m))
            {
                sb.Append(" master=").Append(m.GetString());
            }
            if (l.TryGetProperty("linkinfo", out JsonElement li))
            {
                if (li.TryGetProperty("info_slave_data", out JsonElement sd) && sd.TryGetProperty("hairpin", out JsonElement hp))
                {
                    sb.Append(" hairpin=").Append(hp.GetBoolean() ? "on" : "off");
                }
                if (kind == "bridge" && li.TryGetProperty("info_data", out JsonElement d) && d.TryGetProperty("vlan_filtering", out JsonElement vf))
                {
                    sb.Append(" vlan_filtering=").Append(vf.GetInt32());
                }
            }
            lines.Add(sb.ToString());
        }

        foreach (JsonElement l in Parse(sections, "addr").EnumerateArray())
        {
            string name = l.GetProperty("ifname").GetString()!;
            foreach (JsonElement a in l.GetProperty("addr_info").EnumerateArray())
            {
                string family = a.GetProperty("family").GetString()!;
                string scope = a.GetProperty("scope").GetString()!;
                if (family == "inet6" && scope == "link")
                {
                    continue; // fe80:: derives from the random MAC
                }
                string brd = a.TryGetProperty("broadcast", out JsonElement b) ? " brd=" + b.GetString() : "";
                lines.Add($"addr {name} {family} {a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()} scope={scope}{brd}");
            }
        }

        foreach (string fam in (string[])["4", "6"])
        {
            foreach (JsonElement r in Parse(sections, "route" + fam).EnumerateArray())
            {
                string dst = Str(r, "dst") ?? "?";
                string type = Str(r, "type") ?? "unicast";
                if (fam == "6" && (dst.StartsWith("fe80", StringComparison.Ordinal) || dst.StartsWith("ff00", StringComparison.Ordinal) || type == "multicast"))
                {
                    continue;
                }
                // "linkdown" follows carrier, which settles at its own pace after a port comes or goes.
                string flags = r.TryGetProperty("flags", out JsonElement fl) ? string.Join(',', fl.EnumerateArray().Select(x => x.GetString()).Where(x => x != "linkdown")) : "";
                lines.Add($"route -{fam} table={Str(r, "table") ?? "main"} {type} {dst} via={Str(r, "gateway") ?? "-"} dev={Str(r, "dev") ?? "-"} proto={Str(r, "protocol") ?? "-"} scope={Str(r, "scope") ?? "-"} src={Str(r, "prefsrc") ?? "-"} metric={(r.TryGetProperty("metric", out JsonElement me) ? me.GetInt32() : 0)} {flags}".TrimEnd());
            }
        }

        lines.AddRange(Section(sections, "sysctl").Select(s => "sysctl " + s.Replace("/proc/sys/", "", StringComparison.Ordinal)));

        if (isNode)
        {
            foreach (JsonElement port in Parse(sections, "vlan").EnumerateArray())
            {
                foreach (JsonElement v in port.GetProperty("vlans").EnumerateArray())
                {
                    string vflags = v.TryGetProperty("flags", out JsonElement vf) ? string.Join(',', vf.EnumerateArray().Select(x => x.GetString())) : "";
                    lines.Add($"vlan {port.GetProperty("ifname").GetString()} {v.GetProperty("vlan").GetInt32()} {vflags}".TrimEnd());
                }
            }
            lines.AddRange(IptablesNat(sections.GetValueOrDefault("nat4", ""), "ip4"));
            lines.AddRange(IptablesNat(sections.GetValueOrDefault("nat6", ""), "ip6"));
            foreach ((string key, string text) in sections.Where(kv => kv.Key.StartsWith("nft ", StringComparison.Ordinal)))
            {
                int i = 0;
                foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    lines.Add($"{key} #{i++:D3} {Spaces().Replace(line.Trim(), " ")}");
                }
            }
        }
        lines.Sort(StringComparer.Ordinal);
        return lines.Select(n.Text);
    }

    /// <summary>Runs the script until IPv6 duplicate address detection is over (see <see cref="Tentative"/>).</summary>
    private static Dictionary<string, string> Sections(TestNetns ns, string script)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            Dictionary<string, string> sections = [];
            string? key = null;
            StringBuilder sb = new();
            foreach (string line in ns.Exec("sh", "-c", script).Stdout.Split('\n'))
            {
                if (line.StartsWith("@@@", StringComparison.Ordinal))
                {
                    if (key is not null)
                    {
                        sections[key] = sb.ToString();
                    }
                    key = line[3..].Trim();
                    sb.Clear();
                }
                else
                {
                    sb.Append(line).Append('\n');
                }
            }
            if (key is not null)
            {
                sections[key] = sb.ToString();
            }
            if (!Tentative(Parse(sections, "addr")) || DateTime.UtcNow > until)
            {
                return sections;
            }
            Thread.Sleep(250);
        }
    }

    /// <summary>
    /// An IPv6 address is "tentative" until duplicate address detection is over, and its local
    /// routes are missing until then: timing, not meaning, so a snapshot waits it out.
    /// </summary>
    private static bool Tentative(JsonElement addrs) => addrs.EnumerateArray().Any(l => l.GetProperty("addr_info").EnumerateArray()
        .Any(a => a.TryGetProperty("tentative", out JsonElement t) && t.ValueKind == JsonValueKind.True));

    private static JsonElement Parse(Dictionary<string, string> sections, string key)
    {
        string text = sections.GetValueOrDefault(key, "").Trim();
        using JsonDocument doc = JsonDocument.Parse(text.Length == 0 ? "[]" : text);
        return doc.RootElement.Clone();
    }

    private static IEnumerable<string> Section(Dictionary<string, string> sections, string key) =>
        sections.GetValueOrDefault(key, "").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// `iptables-save -t nat` with the counters and comments dropped and chains sorted by name (rule
    /// order within a chain kept: it is meaningful). The table's built-in chains with no rules are omitted.
    /// </summary>
    public static IEnumerable<string> IptablesNat(string text, string fam)
    {
        Dictionary<string, List<string>> rules = [];
        SortedSet<string> chains = new(StringComparer.Ordinal);
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith(':'))
            {
                string chain = line[1..].Split(' ')[0];
                chains.Add(chain);
                rules.TryAdd(chain, []);
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                string chain = line.Split(' ')[1];
                rules.TryAdd(chain, []);
                rules[chain].Add(line);
            }
        }
        foreach (string chain in chains)
        {
            bool builtin = chain is "PREROUTING" or "INPUT" or "OUTPUT" or "POSTROUTING";
            if (builtin && rules[chain].Count == 0)
            {
                continue;
            }
            yield return $"nat {fam} chain {chain}";
            int i = 0;
            foreach (string rule in rules[chain])
            {
                yield return $"nat {fam} chain {chain} #{i++:D2} {rule}";
            }
        }
    }

    /// <summary>Every file of host-local's data dir: relative name and exact bytes (CR and LF made visible).</summary>
    public static IEnumerable<string> DataDir(string dir)
    {
        if (!Directory.Exists(dir))
        {
            yield return "datadir (absent)";
            yield break;
        }
        foreach (string file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string bytes = File.ReadAllText(file).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
            yield return $"datadir {Path.GetRelativePath(dir, file)} = \"{bytes}\"";
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString() : null;

    [GeneratedRegex("\\s+")]
    private static partial Regex Spaces();
}
