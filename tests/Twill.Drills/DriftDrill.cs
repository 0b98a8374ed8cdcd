using System.Diagnostics;
using Twill.Lab;
using Twill.Testing;

namespace Twill.Drills;

/// <summary>One hand-made disturbance of node1's kernel state.</summary>
/// <param name="Disturb">Makes the change inside node1's namespace.</param>
public sealed record Drift(string Name, Action<DriftContext> Disturb);

/// <summary>What a <see cref="Drift"/> needs to know: node1's namespace and what it holds of node2.</summary>
public sealed record DriftContext(string Netns, string PeerSubnet, string PeerVtep, string PeerVtepMac, string PeerAddress);

/// <summary>
/// Drill 2: something other than the agent deletes part of node1's pod-network state (a route, a
/// neighbour, an FDB entry, the vxlan device, the bridge, the firewall chains, every iptables
/// rule); the time until node1's kernel state equals what it was before is the heal time, and the
/// target is one resync period of the agent (10 s, the lab's default).
/// </summary>
public static class DriftDrill
{
    public static readonly TimeSpan ResyncPeriod = TimeSpan.FromSeconds(10);

    public static Drift Route { get; } = new("route", c => Ip(c, "route", "del", c.PeerSubnet));

    public static Drift Neighbour { get; } = new("neighbour", c => Ip(c, "neigh", "del", c.PeerVtep, "dev", KernelSnapshot.VxlanDevice));

    public static Drift Fdb { get; } = new("FDB entry", c =>
        DrillLab.Check(c.Netns, "bridge", "fdb", "del", c.PeerVtepMac, "dev", KernelSnapshot.VxlanDevice, "dst", c.PeerAddress));

    public static Drift VxlanDevice { get; } = new("vxlan device", c => Ip(c, "link", "del", KernelSnapshot.VxlanDevice));

    /// <summary>cni0 is made by the bridge plugin at a pod's ADD, not by the agent.</summary>
    public static Drift Bridge { get; } = new("bridge cni0", c => Ip(c, "link", "del", "cni0"));

    /// <summary>Every chain of the agent in filter and nat: the rules jumping to it deleted, then the chain flushed and deleted.</summary>
    public static Drift FirewallChains { get; } = new("firewall chains", c =>
    {
        foreach (string table in (string[])["filter", "nat"])
        {
            string[] rules = DrillLab.Check(c.Netns, "iptables", "-t", table, "-S").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (string rule in rules.Where(r => r.StartsWith("-A ", StringComparison.Ordinal) && KernelSnapshot.AgentChains.Any(c => r.Contains("-j " + c, StringComparison.Ordinal))
                && !KernelSnapshot.AgentChains.Any(c => r.StartsWith("-A " + c, StringComparison.Ordinal))))
            {
                DrillLab.Check(c.Netns, ["iptables", "-t", table, "-D", .. SplitRule(rule[3..])]);
            }
            foreach (string chain in rules.Where(r => KernelSnapshot.AgentChains.Any(c => r.StartsWith("-N " + c, StringComparison.Ordinal))).Select(r => r[3..]))
            {
                DrillLab.Check(c.Netns, "iptables", "-t", table, "-F", chain);
                DrillLab.Check(c.Netns, "iptables", "-t", table, "-X", chain);
            }
        }
    });

    /// <summary>What a firewalld reload does to rules it does not own: every rule of filter and nat flushed.</summary>
    /// <remarks>portmap's CNI-HOSTPORT-* rules go too; they are the plugin's, made at a pod's ADD, and no agent (Flannel's neither) puts them back.</remarks>
    public static Drift IptablesFlush { get; } = new("iptables -F (filter, nat)", c =>
    {
        DrillLab.Check(c.Netns, "iptables", "-F");
        DrillLab.Check(c.Netns, "iptables", "-t", "nat", "-F");
    });

    public static IReadOnlyList<Drift> All { get; } = [Route, Neighbour, Fdb, VxlanDevice, FirewallChains, IptablesFlush, Bridge];

    public static IReadOnlyList<Drift> Quick { get; } = [Route, Neighbour, Fdb, VxlanDevice, IptablesFlush];

    /// <param name="slack">Added to the target (the quick tests on a loaded machine); <c>make drills</c> passes none.</param>
    public static DrillResult Run(DrillLab lab, Drift drift, TimeSpan slack = default)
    {
        string drill = "drift: " + drift.Name + (drift == IptablesFlush ? "" : " deleted");
        string target = $"healed <= {DrillLab.Seconds(ResyncPeriod + slack)}";
        try
        {
            DriftContext c = Context(lab);
            // The state settles first (a previous drill's heal, the restarted agent's first passes).
            string before = KernelSnapshot.Take(c.Netns);
            if (!DrillLab.Eventually(TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500), () =>
                {
                    string again = KernelSnapshot.Take(c.Netns);
                    bool same = again == before;
                    before = again;
                    return same;
                }))
            {
                return new DrillResult(drill, target, "node1's state never settled before the drill", false);
            }
            drift.Disturb(c);
            Stopwatch sw = Stopwatch.StartNew();
            string now = KernelSnapshot.Take(c.Netns);
            if (now == before)
            {
                return new DrillResult(drill, target, "the disturbance changed nothing (drill broken)", false);
            }
            TimeSpan limit = ResyncPeriod * 3;
            bool healed = DrillLab.Eventually(limit, TimeSpan.FromMilliseconds(100), () => (now = KernelSnapshot.Take(c.Netns)) == before);
            TimeSpan took = sw.Elapsed;
            if (!healed)
            {
                return new DrillResult(drill, target, $"not healed after {DrillLab.Seconds(limit)}", false, KernelSnapshot.Diff(before, now));
            }
            return new DrillResult(drill, target, DrillLab.Seconds(took), took <= ResyncPeriod + slack);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            return DrillResult.Failed(drill, target, e);
        }
    }

    private static DriftContext Context(DrillLab lab)
    {
        LabNodeState node1 = lab.Node("node1");
        LabNodeState node2 = lab.Node("node2");
        string subnet = Network(node2.Subnet!);
        string vtep = subnet.Split('/')[0];
        string mac = System.Text.Json.JsonDocument.Parse(DrillLab.Check(node2.Namespace, "ip", "-j", "link", "show", "dev", KernelSnapshot.VxlanDevice))
            .RootElement[0].GetProperty("address").GetString()!;
        return new DriftContext(node1.Namespace, subnet, vtep, mac, node2.Address);
    }

    /// <summary>subnet.env's FLANNEL_SUBNET is the gateway (10.244.5.1/24); routes name the network (10.244.5.0/24).</summary>
    public static string Network(string gatewayCidr)
    {
        Twill.Core.InterfaceAddress a = Twill.Core.InterfaceAddress.Parse(gatewayCidr);
        byte[] bytes = a.Address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(a.PrefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return $"{new System.Net.IPAddress(bytes)}/{a.PrefixLength}";
    }

    private static void Ip(DriftContext c, params string[] args) => DrillLab.Check(c.Netns, ["ip", .. args]);

    /// <summary>iptables -S prints a rule as its own arguments; quoted comments are the only spaces inside one.</summary>
    private static string[] SplitRule(string rule)
    {
        List<string> words = [];
        System.Text.StringBuilder word = new();
        bool quoted = false;
        foreach (char ch in rule)
        {
            if (ch == '"')
            {
                quoted = !quoted;
            }
            else if (ch == ' ' && !quoted)
            {
                words.Add(word.ToString());
                word.Clear();
            }
            else
            {
                word.Append(ch);
            }
        }
        words.Add(word.ToString());
        return [.. words.Where(w => w.Length > 0)];
    }
}
