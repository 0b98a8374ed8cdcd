using System.Net;
using System.Text;
using Twill.Firewall.Nftables;
using Twill.Core;

namespace Twill.Firewall.Portmap;

/// <summary>
/// The reference portmap's nftables backend (1.5+): tables <c>ip cni_hostport</c> and
/// <c>ip6 cni_hostport</c>; chains <c>prerouting</c>/<c>output</c> (nat, dstnat) jump on local
/// destinations to <c>hostports_all</c>, which jumps to <c>hostip_hostports</c> (kept for upgrades)
/// and <c>hostports</c>, holding one DNAT rule per mapping; <c>masquerading</c> (nat, srcnat)
/// masquerades hairpin and localhost traffic. Priorities are numeric (dstnat = -100, srcnat = 100):
/// nft 1.0.6 rejects the name <c>dstnat</c> on the output hook. Every per-container rule carries the container ID as
/// its comment, which is how DEL finds them.
/// </summary>
public static class PortmapNftables
{
    public const string TableName = "cni_hostport";
    public const string HostPortsAllChain = "hostports_all";
    public const string HostIpHostPortsChain = "hostip_hostports";
    public const string HostPortsChain = "hostports";
    public const string MasqueradingChain = "masquerading";

    private static readonly string[] PerContainerChains = [HostPortsChain, HostIpHostPortsChain, MasqueradingChain];

    /// <summary>
    /// The ADD script for one family. <paramref name="stale"/> are rules already there for this
    /// container (a repeated ADD): they are deleted in the same transaction, so rules never pile up.
    /// </summary>
    public static string RenderAdd(PortmapTarget target, InterfaceAddress container, IEnumerable<NftRule> stale)
    {
        IpFamily family = container.Family;
        string f = family.NftFamily();
        string t = $"{f} {TableName}";
        string conditions = string.Join(' ', target.ConditionsOf(family));
        string pre = conditions.Length > 0 ? conditions + " " : "";
        string comment = " comment " + NftTool.Quote(target.ContainerId);
        StringBuilder sb = new();
        sb.Append($"add table {t} {{ comment \"CNI portmap plugin\" ; }}\n");
        sb.Append($"add chain {t} {HostPortsChain}\n");
        sb.Append($"add chain {t} {HostIpHostPortsChain}\n");
        sb.Append($"add chain {t} {HostPortsAllChain}\n");
        sb.Append($"flush chain {t} {HostPortsAllChain}\n");
        sb.Append($"add rule {t} {HostPortsAllChain} jump {HostIpHostPortsChain}\n");
        sb.Append($"add rule {t} {HostPortsAllChain} jump {HostPortsChain}\n");
        foreach (string hook in new[] { "prerouting", "output" })
        {
            sb.Append($"add chain {t} {hook} {{ type nat hook {hook} priority -100 ; }}\n");
            sb.Append($"flush chain {t} {hook}\n");
            sb.Append($"add rule {t} {hook} {pre}fib daddr type local jump {HostPortsAllChain}\n");
        }
        if (target.Snat)
        {
            sb.Append($"add chain {t} {MasqueradingChain} {{ type nat hook postrouting priority 100 ; }}\n");
        }
        foreach (NftRule r in stale)
        {
            sb.Append($"delete rule {t} {r.Chain} handle {r.Handle}\n");
        }
        foreach (PortMapping m in target.Mappings)
        {
            string daddr = "";
            if (!string.IsNullOrEmpty(m.HostIP))
            {
                IPAddress hostIp = IPAddress.Parse(m.HostIP);
                if (IpFamilyExtensions.FamilyOf(hostIp) != family)
                {
                    continue;
                }
                if (!hostIp.Equals(IPAddress.Any) && !hostIp.Equals(IPAddress.IPv6Any))
                {
                    daddr = $"{f} daddr {hostIp} ";
                }
            }
            sb.Append($"add rule {t} {HostPortsChain} {daddr}{m.Protocol.ToLowerInvariant()} dport {m.HostPort} dnat to {Iptables.IptablesText.HostPort(container.Address, m.ContainerPort)}{comment}\n");
        }
        if (target.Snat)
        {
            string src = target.MasqAll ? family.AnyPrefix() : container.Address.ToString();
            sb.Append($"add rule {t} {MasqueradingChain} {f} saddr {src} {f} daddr {container.Address} masquerade{comment}\n");
            if (family == IpFamily.V4 && !target.MasqAll)
            {
                sb.Append($"add rule {t} {MasqueradingChain} {f} saddr 127.0.0.1 {f} daddr {container.Address} masquerade{comment}\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>The DEL script: deletes, by handle, the listed rules carrying the container ID.</summary>
    public static string RenderDelete(IEnumerable<NftRule> rules, string containerId)
    {
        StringBuilder sb = new();
        foreach (NftRule r in rules.Where(r => r.Comment == containerId && PerContainerChains.Contains(r.Chain)))
        {
            sb.Append($"delete rule {r.Family} {r.Table} {r.Chain} handle {r.Handle}\n");
        }
        return sb.ToString();
    }

    internal static void Add(IFirewallRunner runner, PortmapTarget target, InterfaceAddress container)
    {
        using (runner.Lock())
        {
            IReadOnlyList<NftRule> existing = NftTool.ListRules(runner, container.Family.NftFamily(), TableName) ?? [];
            IEnumerable<NftRule> stale = existing.Where(r => r.Comment == target.ContainerId && PerContainerChains.Contains(r.Chain));
            NftTool.Apply(runner, RenderAdd(target, container, stale));
        }
    }

    internal static void Delete(IFirewallRunner runner, string containerId)
    {
        using (runner.Lock())
        {
            foreach (IpFamily family in new[] { IpFamily.V4, IpFamily.V6 })
            {
                IReadOnlyList<NftRule>? rules = NftTool.ListRules(runner, family.NftFamily(), TableName);
                if (rules is not null)
                {
                    NftTool.Apply(runner, RenderDelete(rules, containerId));
                }
            }
        }
    }

    internal static IReadOnlyList<string> Check(IFirewallRunner runner, PortmapTarget target, InterfaceAddress container)
    {
        IpFamily family = container.Family;
        IReadOnlyList<NftRule> rules = NftTool.ListRules(runner, family.NftFamily(), TableName) ?? [];
        int wantPorts = target.Mappings.Count(m => string.IsNullOrEmpty(m.HostIP)
            || IpFamilyExtensions.FamilyOf(IPAddress.Parse(m.HostIP)) == family);
        int wantMasq = !target.Snat ? 0 : family == IpFamily.V4 && !target.MasqAll ? 2 : 1;
        List<string> problems = [];
        if (rules.Count(r => r.Chain == HostPortsChain && r.Comment == target.ContainerId) < wantPorts)
        {
            problems.Add($"missing hostport rules in \"{HostPortsChain}\" chain of {family.NftFamily()} {TableName}");
        }
        if (rules.Count(r => r.Chain == MasqueradingChain && r.Comment == target.ContainerId) < wantMasq)
        {
            problems.Add($"missing hostport rules in \"{MasqueradingChain}\" chain of {family.NftFamily()} {TableName}");
        }
        return problems;
    }
}
