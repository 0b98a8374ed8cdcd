using System.Globalization;
using System.Net;
using System.Text;
using Twill.Firewall.Iptables;
using Twill.Core;

namespace Twill.Firewall.Portmap;

/// <summary>
/// The reference portmap plugin's iptables rules (plugins/meta/portmap, iptables backend), in the
/// canonical text iptables-save prints, and the edits that add, check and remove them. Pure.
/// </summary>
/// <remarks>
/// Layout (nat table):
/// PREROUTING, OUTPUT: <c>-m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT</c>;
/// CNI-HOSTPORT-DNAT: per container and protocol, a multiport match on the host ports jumping to
/// <c>CNI-DN-&lt;hash&gt;</c>; CNI-DN-&lt;hash&gt;: per mapping, mark hairpin traffic, mark localhost traffic
/// (IPv4), DNAT; POSTROUTING (first): <c>-j CNI-HOSTPORT-MASQ</c>, which masquerades marked packets;
/// CNI-HOSTPORT-SETMARK sets the mark.
/// </remarks>
public static class PortmapIptablesRules
{
    public const string Table = "nat";
    public const string TopLevelDnatChain = "CNI-HOSTPORT-DNAT";
    public const string SetMarkChain = "CNI-HOSTPORT-SETMARK";
    public const string MarkMasqChain = "CNI-HOSTPORT-MASQ";
    public const string OldTopLevelSnatChain = "CNI-HOSTPORT-SNAT";

    /// <summary>multiport takes at most 15 ports per rule.</summary>
    private const int MultiportMax = 15;

    /// <summary><c>dnat name: "NET" id: "ID"</c>, cut to iptables' 255-character comment limit as the reference cuts it.</summary>
    public static string DnatComment(string network, string containerId)
    {
        string c = $"dnat name: \"{network}\" id: \"{containerId}\"";
        return c.Length <= 255 ? c : c[..253] + "...";
    }

    /// <summary><c>0x2000/0x2000</c> for bit 13 (Go's %#x).</summary>
    public static string MarkDef(int bit)
    {
        string v = "0x" + (1u << bit).ToString("x", CultureInfo.InvariantCulture);
        return v + "/" + v;
    }

    public static string TopLevelEntryRule => "-m addrtype --dst-type LOCAL -j " + TopLevelDnatChain;

    public static string MasqEntryRule => IptablesText.Comment("CNI portfwd requiring masquerade") + " -j " + MarkMasqChain;

    public static string SetMarkRule(int bit) =>
        IptablesText.Comment("CNI portfwd masquerade mark") + " -j MARK --set-xmark " + MarkDef(bit);

    public static string MarkMasqRule(int bit) => "-m mark --mark " + MarkDef(bit) + " -j MASQUERADE";

    /// <summary>
    /// CNI-HOSTPORT-DNAT's rules for the container: one per protocol (sorted) and group of up to 15
    /// host ports (in mapping order), plus the family's extra conditions.
    /// </summary>
    public static IReadOnlyList<string> DnatEntryRules(PortmapTarget target, IpFamily family)
    {
        string chain = ChainNames.PortmapDnat(target.NetworkName, target.ContainerId);
        string comment = IptablesText.Comment(DnatComment(target.NetworkName, target.ContainerId));
        IReadOnlyList<string> conditions = target.ConditionsOf(family);
        List<string> rules = [];
        foreach (IGrouping<string, PortMapping> proto in target.Mappings
                     .GroupBy(m => m.Protocol.ToLowerInvariant())
                     .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            foreach (int[] chunk in proto.Select(m => m.HostPort).Chunk(MultiportMax))
            {
                string r = $"-p {proto.Key} {comment} -m multiport --dports {string.Join(',', chunk)}";
                if (conditions.Count > 0 && conditions[0].Length > 0)
                {
                    r += " " + string.Join(' ', conditions.Select(Arg));
                }
                rules.Add(r + " -j " + chain);
            }
        }
        return rules;
    }

    /// <summary>CNI-DN-&lt;hash&gt;'s rules: per mapping of this family, hairpin mark, localhost mark (IPv4, not masqAll), DNAT.</summary>
    public static IReadOnlyList<string> DnatChainRules(PortmapTarget target, InterfaceAddress container)
    {
        IpFamily family = container.Family;
        string setMark = target.ExternalSetMarkChain ?? SetMarkChain;
        List<string> rules = [];
        foreach (PortMapping m in target.Mappings)
        {
            string dst = "";
            if (!string.IsNullOrEmpty(m.HostIP))
            {
                IPAddress hostIp = IPAddress.Parse(m.HostIP);
                if (IpFamilyExtensions.FamilyOf(hostIp) != family)
                {
                    // A host address of the other family: that family's rules carry the mapping.
                    continue;
                }
                if (!hostIp.Equals(IPAddress.Any) && !hostIp.Equals(IPAddress.IPv6Any))
                {
                    dst = "-d " + IptablesText.Host(hostIp) + " ";
                }
            }
            string match = $"{dst}-p {m.Protocol.ToLowerInvariant()} -m {m.Protocol.ToLowerInvariant()} --dport {m.HostPort}";
            if (target.Snat)
            {
                // iptables-save leaves out a match-everything source (masqAll's 0.0.0.0/0).
                string src = target.MasqAll ? "" : "-s " + IptablesText.Prefix(container.Network) + " ";
                rules.Add($"{src}{match} -j {setMark}");
                if (family == IpFamily.V4 && !target.MasqAll)
                {
                    rules.Add($"-s 127.0.0.1/32 {match} -j {setMark}");
                }
            }
            rules.Add($"{match} -j DNAT --to-destination {IptablesText.HostPort(container.Address, m.ContainerPort)}");
        }
        return rules;
    }

    /// <summary>The edit that makes the nat table forward the container's ports (an ADD).</summary>
    public static TableEdit PlanAdd(SavedTable nat, PortmapTarget target, InterfaceAddress container)
    {
        TableEdit edit = new(nat);
        if (target.Snat && target.ExternalSetMarkChain is null)
        {
            int bit = target.EffectiveMarkBit;
            edit.EnsureChain(SetMarkChain);
            edit.AppendUnique(SetMarkChain, SetMarkRule(bit));
            edit.EnsureChain(MarkMasqChain);
            edit.AppendUnique(MarkMasqChain, MarkMasqRule(bit));
            // First in POSTROUTING, or the bridge/ptp masquerade rules would take the packet first.
            edit.InsertUnique("POSTROUTING", MasqEntryRule);
        }
        edit.EnsureChain(TopLevelDnatChain);
        edit.AppendUnique("PREROUTING", TopLevelEntryRule);
        edit.AppendUnique("OUTPUT", TopLevelEntryRule);

        string chain = ChainNames.PortmapDnat(target.NetworkName, target.ContainerId);
        // The container's chain holds exactly its mappings: a repeated ADD replaces, never piles up.
        edit.ReplaceChain(chain, DnatChainRules(target, container));
        IReadOnlyList<string> entries = DnatEntryRules(target, container.Family);
        edit.DeleteJumpsTo(chain, (c, spec) => c == TopLevelDnatChain && !entries.Contains(spec));
        foreach (string e in entries)
        {
            edit.AppendUnique(TopLevelDnatChain, e);
        }
        return edit;
    }

    /// <summary>
    /// The edit that removes the container's chain and every jump to it, and the SNAT chain of
    /// portmap versions before 0.7; shared chains stay, as the reference leaves them.
    /// </summary>
    public static TableEdit PlanDelete(SavedTable nat, string network, string containerId)
    {
        TableEdit edit = new(nat);
        edit.DeleteChain(ChainNames.PortmapDnat(network, containerId));
        edit.DeleteChain(ChainNames.PortmapOldSnat(network, containerId));
        return edit;
    }

    /// <summary>
    /// The ADD as one blind <c>iptables-restore --noflush</c> script, planned without reading the
    /// table: right for every pod but a node's first, when the shared chains and their rules are in
    /// place and the container has no chain yet. Each assumption is a line that fails when it does
    /// not hold (<c>-C</c> of a shared rule, <c>-N</c> of the container's chain), and one failing line
    /// rejects the whole commit, so the caller then plans with <see cref="PlanAdd"/> on a dump. When
    /// the assumptions hold, this is exactly what PlanAdd would write. No chain is ever declared
    /// with <c>:CHAIN - [0:0]</c>: under --noflush that flushes an existing chain.
    /// </summary>
    public static string FastAddScript(PortmapTarget target, InterfaceAddress container)
    {
        StringBuilder sb = new("*" + Table + "\n");
        if (target.Snat && target.ExternalSetMarkChain is null)
        {
            int bit = target.EffectiveMarkBit;
            Line(sb, "-C", SetMarkChain, SetMarkRule(bit));
            Line(sb, "-C", MarkMasqChain, MarkMasqRule(bit));
            // Presence only, as PlanAdd's InsertUnique: where it stands in POSTROUTING is left alone.
            Line(sb, "-C", "POSTROUTING", MasqEntryRule);
        }
        // A rule can only jump to an existing chain, so these also prove CNI-HOSTPORT-DNAT exists.
        Line(sb, "-C", "PREROUTING", TopLevelEntryRule);
        Line(sb, "-C", "OUTPUT", TopLevelEntryRule);
        string chain = ChainNames.PortmapDnat(target.NetworkName, target.ContainerId);
        // Fails when the chain exists (a repeated ADD): the dump-based plan then replaces its rules
        // and its entry rules. A missing chain also means no rule jumps to it yet.
        sb.Append("-N ").Append(chain).Append('\n');
        foreach (string r in DnatChainRules(target, container))
        {
            Line(sb, "-A", chain, r);
        }
        foreach (string e in DnatEntryRules(target, container.Family))
        {
            Line(sb, "-A", TopLevelDnatChain, e);
        }
        return sb.Append("COMMIT\n").ToString();
    }

    /// <summary>
    /// The DEL as one blind <c>iptables-restore --noflush</c> script: deletes the entry rules ADD
    /// wrote for the same mappings (<paramref name="entries"/>, <see cref="DnatEntryRules"/>), then
    /// the container's chain. <c>-D</c> fails on a missing rule and <c>-X</c> while any other rule
    /// still jumps to the chain, so anything but the layout that ADD left rejects the commit and
    /// the caller plans with <see cref="PlanDelete"/> on a dump. The chain of portmap before 0.7 is
    /// proven absent by creating and dropping it in the same commit (fails when it exists).
    /// Null without entries (mappings unknown or none): a read costs one process too, and unlike
    /// a blind write it cannot create an empty nat table in a namespace that had none.
    /// </summary>
    public static string? FastDeleteScript(string network, string containerId, IReadOnlyList<string> entries)
    {
        if (entries.Count == 0)
        {
            return null;
        }
        StringBuilder sb = new("*" + Table + "\n");
        string chain = ChainNames.PortmapDnat(network, containerId);
        foreach (string e in entries)
        {
            Line(sb, "-D", TopLevelDnatChain, e);
        }
        sb.Append("-F ").Append(chain).Append('\n');
        sb.Append("-X ").Append(chain).Append('\n');
        string old = ChainNames.PortmapOldSnat(network, containerId);
        sb.Append("-N ").Append(old).Append('\n');
        sb.Append("-X ").Append(old).Append('\n');
        return sb.Append("COMMIT\n").ToString();
    }

    private static void Line(StringBuilder sb, string command, string chain, string spec) =>
        sb.Append(command).Append(' ').Append(chain).Append(' ').Append(spec).Append('\n');

    /// <summary>What is missing for the container (empty = all present), for CNI CHECK.</summary>
    public static IReadOnlyList<string> Check(SavedTable nat, PortmapTarget target, InterfaceAddress container)
    {
        List<string> problems = [];
        string chain = ChainNames.PortmapDnat(target.NetworkName, target.ContainerId);
        if (!nat.HasChain(chain))
        {
            problems.Add($"chain {chain} not found in iptables table nat");
            return problems;
        }
        IReadOnlyList<string> have = nat.Rules(chain);
        foreach (string r in DnatChainRules(target, container).Where(r => !have.Contains(r)))
        {
            problems.Add($"rule {r} in chain {chain} not found in table nat");
        }
        IReadOnlyList<string> entries = DnatEntryRules(target, container.Family);
        IReadOnlyList<string> jumps = [.. nat.Rules(TopLevelDnatChain).Where(s => IptablesText.JumpsTo(s, chain))];
        bool hasConditions = target.ConditionsOf(container.Family).Count > 0;
        // Conditions are user text that iptables-save reorders, so with them only the count is comparable.
        if (hasConditions ? jumps.Count < entries.Count : entries.Any(e => !jumps.Contains(e)))
        {
            problems.Add($"entry rules to {chain} not found in chain {TopLevelDnatChain} of table nat");
        }
        foreach (string builtin in new[] { "PREROUTING", "OUTPUT" })
        {
            if (!nat.Rules(builtin).Contains(TopLevelEntryRule))
            {
                problems.Add($"rule {TopLevelEntryRule} not found in chain {builtin} of table nat");
            }
        }
        return problems;
    }

    /// <summary>A user-supplied argument, quoted only when it would otherwise be split.</summary>
    private static string Arg(string a) =>
        a.Length > 0 && !a.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\') ? a : IptablesText.Quote(a);
}
