using System.Net;
using System.Text;
using Twill.Firewall.Iptables;
using Twill.Firewall.Nftables;

namespace Twill.Firewall.Masquerade;

/// <summary>Which firewall the agent programs (Flannel's <c>EnableNFTables</c>).</summary>
public enum NodeFirewallBackend
{
    Iptables,
    Nftables,
}

/// <summary>
/// The node's pod network, as the agent knows it from its net-conf and lease.
/// </summary>
/// <param name="NetworkV4">The whole pod network (net-conf <c>Network</c>), null when IPv4 is off.</param>
/// <param name="SubnetV4">This node's lease (<c>FLANNEL_SUBNET</c>'s network).</param>
/// <param name="NetworkV6">net-conf <c>IPv6Network</c>.</param>
/// <param name="SubnetV6">This node's IPv6 lease.</param>
/// <param name="IpMasq"><c>--ip-masq</c>: masquerade pod traffic leaving the pod network.</param>
/// <param name="Forward">Accept forwarding to and from the pod network (Flannel always does).</param>
/// <param name="RandomFully">MASQUERADE with <c>--random-fully</c> (Flannel's default where supported).</param>
public sealed record NodeFirewallConfig(
    IPNetwork? NetworkV4,
    IPNetwork? SubnetV4,
    IPNetwork? NetworkV6 = null,
    IPNetwork? SubnetV6 = null,
    bool IpMasq = true,
    bool Forward = true,
    bool RandomFully = true)
{
    internal (IPNetwork Network, IPNetwork Subnet)? Of(IpFamily family) =>
        family == IpFamily.V4
            ? NetworkV4 is { } n4 && SubnetV4 is { } s4 ? (n4, s4) : null
            : NetworkV6 is { } n6 && SubnetV6 is { } s6 ? (n6, s6) : null;
}

/// <summary>
/// The agent's masquerade and forward rules, Flannel's FLANNEL-POSTRTG / FLANNEL-FWD under our own
/// names. Each apply is one <c>iptables-restore --noflush</c> per family (or one <c>nft -f</c>)
/// that flushes and refills our chains inside a single commit, so there is never a moment without
/// rules; the jumps from POSTROUTING / FORWARD are added only when missing.
/// </summary>
public sealed class NodeFirewall
{
    public const string PostroutingChain = "TWILL-POSTRTG";
    public const string ForwardChain = "TWILL-FWD";
    public const string MasqComment = "twill masq";
    public const string ForwardComment = "twill forward";
    public const string NftTable = "twill";

    /// <summary>kube-proxy's masquerade mark: such packets are kube-proxy's to NAT, not ours (avoids double NAT).</summary>
    public const string KubeProxyMark = "0x4000/0x4000";

    private static readonly IpFamily[] Families = [IpFamily.V4, IpFamily.V6];
    private readonly IFirewallRunner _runner;
    private string? _appliedNftText;

    public NodeFirewall(NodeFirewallConfig config, IFirewallRunner runner, NodeFirewallBackend backend = NodeFirewallBackend.Iptables)
    {
        Config = config;
        _runner = runner;
        Backend = backend;
    }

    public NodeFirewallConfig Config { get; }

    public NodeFirewallBackend Backend { get; }

    /// <summary>TWILL-POSTRTG's rules for one family, in iptables-save's text.</summary>
    public static IReadOnlyList<string> MasqueradeRules(IPNetwork network, IPNetwork subnet, IpFamily family, bool randomFully)
    {
        string n = IptablesText.Prefix(network);
        string s = IptablesText.Prefix(subnet);
        string c = IptablesText.Comment(MasqComment);
        string masq = randomFully ? "-j MASQUERADE --random-fully" : "-j MASQUERADE";
        return
        [
            $"-m mark --mark {KubeProxyMark} {c} -j RETURN",
            // Pod to pod, in either direction: the pod's own address must survive.
            $"-s {s} -d {n} {c} -j RETURN",
            $"-s {n} -d {s} {c} -j RETURN",
            // Outside to our pods (e.g. a NodePort forwarded here): keep the client's address.
            $"! -s {n} -d {s} {c} -j RETURN",
            // Pods to the outside world, except multicast.
            $"-s {n} ! -d {family.Multicast()} {c} {masq}",
            // The node itself (or outside) to another node's pods: reply must come back through us.
            $"! -s {n} -d {n} {c} {masq}",
        ];
    }

    /// <summary>TWILL-FWD's rules: accept anything from or to the pod network.</summary>
    public static IReadOnlyList<string> ForwardRules(IPNetwork network)
    {
        string n = IptablesText.Prefix(network);
        string c = IptablesText.Comment(ForwardComment);
        return [$"-s {n} {c} -j ACCEPT", $"-d {n} {c} -j ACCEPT"];
    }

    public static string PostroutingJump => IptablesText.Comment(MasqComment) + " -j " + PostroutingChain;

    public static string ForwardJump => IptablesText.Comment(ForwardComment) + " -j " + ForwardChain;

    /// <summary>
    /// The restore script that brings one family to the wanted state from <paramref name="saved"/>;
    /// empty when already there. <paramref name="force"/> rewrites our chains even when equal.
    /// </summary>
    public static string RenderIptables(NodeFirewallConfig config, IpFamily family, SavedRuleset saved, bool force)
    {
        (IPNetwork Network, IPNetwork Subnet)? nets = config.Of(family);
        TableEdit nat = new(saved.Table("nat"));
        if (nets is { } a && config.IpMasq)
        {
            nat.ReplaceChain(PostroutingChain, MasqueradeRules(a.Network, a.Subnet, family, config.RandomFully), force);
            EnsureSingleJump(nat, "POSTROUTING", PostroutingChain, PostroutingJump);
        }
        else
        {
            nat.DeleteChain(PostroutingChain);
        }
        TableEdit filter = new(saved.Table("filter"));
        if (nets is { } b && config.Forward)
        {
            filter.ReplaceChain(ForwardChain, ForwardRules(b.Network), force);
            EnsureSingleJump(filter, "FORWARD", ForwardChain, ForwardJump);
        }
        else
        {
            filter.DeleteChain(ForwardChain);
        }
        return nat.Render() + filter.Render();
    }

    /// <summary>The script that removes our chains and jumps from one family; empty when none are there.</summary>
    public static string RenderIptablesRemoval(SavedRuleset saved)
    {
        TableEdit nat = new(saved.Table("nat"));
        nat.DeleteChain(PostroutingChain);
        TableEdit filter = new(saved.Table("filter"));
        filter.DeleteChain(ForwardChain);
        return nat.Render() + filter.Render();
    }

    /// <summary>
    /// The whole <c>inet twill</c> table as one <c>nft -f</c> transaction: created if missing,
    /// flushed and refilled in the same commit.
    /// </summary>
    public static string RenderNftables(NodeFirewallConfig config)
    {
        string t = "inet " + NftTable;
        StringBuilder sb = new();
        sb.Append($"add table {t}\n");
        sb.Append($"flush table {t}\n");
        sb.Append($"add chain {t} postrtg {{ type nat hook postrouting priority 100 ; policy accept ; }}\n");
        sb.Append($"add chain {t} forward {{ type filter hook forward priority 0 ; policy accept ; }}\n");
        string masq = config.RandomFully ? "masquerade fully-random" : "masquerade";
        bool markRule = false;
        foreach (IpFamily family in Families)
        {
            if (config.Of(family) is not { } nets)
            {
                continue;
            }
            string f = family.NftFamily();
            string n = IptablesText.Prefix(nets.Network);
            string s = IptablesText.Prefix(nets.Subnet);
            if (config.IpMasq)
            {
                if (!markRule)
                {
                    sb.Append($"add rule {t} postrtg meta mark & 0x00004000 == 0x00004000 return\n");
                    markRule = true;
                }
                sb.Append($"add rule {t} postrtg {f} saddr {s} {f} daddr {n} return\n");
                sb.Append($"add rule {t} postrtg {f} saddr {n} {f} daddr {s} return\n");
                sb.Append($"add rule {t} postrtg {f} saddr != {n} {f} daddr {s} return\n");
                sb.Append($"add rule {t} postrtg {f} saddr {n} {f} daddr != {family.Multicast()} {masq}\n");
                sb.Append($"add rule {t} postrtg {f} saddr != {n} {f} daddr {n} {masq}\n");
            }
            if (config.Forward)
            {
                sb.Append($"add rule {t} forward {f} saddr {n} accept\n");
                sb.Append($"add rule {t} forward {f} daddr {n} accept\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Programs the rules (agent start, config change). Always rewrites our chains, atomically, and
    /// removes what the other backend left from an earlier run (a switch to or from EnableNFTables).
    /// </summary>
    public void Apply()
    {
        Ensure(force: true);
        try
        {
            if (Backend == NodeFirewallBackend.Nftables)
            {
                RemoveIptables(_runner);
            }
            else
            {
                RemoveNftables(_runner);
            }
        }
        catch (FirewallException)
        {
            // The other backend's tool is missing or unusable: then it holds nothing of ours either.
        }
    }

    /// <summary>
    /// The periodic check (<c>--iptables-resync</c>): reads the rules back and re-applies only when
    /// they differ from what we want. Returns whether anything had to be repaired.
    /// </summary>
    public bool Resync() => Ensure(force: false);

    /// <summary>Removes everything this class ever programs, in both backends and families (<c>twill agent --cleanup</c>).</summary>
    public static void Remove(IFirewallRunner runner)
    {
        RemoveIptables(runner);
        RemoveNftables(runner);
    }

    private static void RemoveIptables(IFirewallRunner runner)
    {
        foreach (IpFamily family in Families)
        {
            IptablesTool.Transact(runner, family, null, RenderIptablesRemoval, optional: true);
        }
    }

    private static void RemoveNftables(IFirewallRunner runner)
    {
        using IDisposable held = runner.Lock();
        if (NftTool.ListRules(runner, "inet", NftTable) is not null)
        {
            NftTool.Apply(runner, $"delete table inet {NftTable}\n");
        }
    }

    private bool Ensure(bool force) =>
        Backend == NodeFirewallBackend.Nftables ? EnsureNft(force) : EnsureIptables(force);

    private bool EnsureIptables(bool force)
    {
        bool changed = false;
        foreach (IpFamily family in Families)
        {
            // A family we do not use is only cleaned of leftovers, and only when it is usable at all.
            bool wanted = Config.Of(family) is not null;
            string? script = IptablesTool.Transact(_runner, family, null,
                saved => RenderIptables(Config, family, saved, force && wanted), optional: !wanted);
            changed |= !string.IsNullOrEmpty(script);
        }
        return changed;
    }

    private bool EnsureNft(bool force)
    {
        using IDisposable held = _runner.Lock();
        if (!force && _appliedNftText is not null && NftTool.ListText(_runner, "inet", NftTable) == _appliedNftText)
        {
            return false;
        }
        NftTool.Apply(_runner, RenderNftables(Config));
        // What nft prints back is the reference for the next resync: it is nft's own normal form.
        _appliedNftText = NftTool.ListText(_runner, "inet", NftTable);
        return true;
    }

    /// <summary>Exactly one jump, appended when missing (duplicates from a crash are removed).</summary>
    private static void EnsureSingleJump(TableEdit edit, string from, string chain, string jump)
    {
        List<string> jumps = [.. edit.Rules(from).Where(s => IptablesText.JumpsTo(s, chain))];
        if (jumps.Count == 1 && jumps[0] == jump)
        {
            return;
        }
        edit.DeleteJumpsTo(chain, (c, _) => c == from);
        edit.Append(from, jump);
    }
}
