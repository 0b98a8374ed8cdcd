using System.Text.RegularExpressions;

namespace Twill.Drills;

/// <summary>
/// What a node's kernel holds of the pod network, as text that compares equal when nothing is
/// missing: the main IPv4 routing table, the agent's permanent neighbours and FDB entries on the
/// vxlan device, the device itself, cni0 with its ports, and the agent's chains and the rules
/// jumping to them (counters left out). A drill disturbs one part and waits until it is equal again.
/// </summary>
public static partial class KernelSnapshot
{
    public const string VxlanDevice = "flannel.4096";

    public static string Take(string netns)
    {
        List<string> parts =
        [
            "routes:", .. Sorted(Output(netns, "ip", "-4", "route", "show")),
            "neighbours:", .. Sorted(Output(netns, "ip", "-4", "neigh", "show", "dev", VxlanDevice, "nud", "permanent")),
            "fdb:", .. Sorted(Output(netns, "bridge", "fdb", "show", "dev", VxlanDevice)).Where(l => l.Contains(" dst ", StringComparison.Ordinal)),
            "device:", .. Output(netns, "ip", "-o", "-d", "link", "show", "dev", VxlanDevice).Split('\n').Select(l => IfIndex().Replace(l, "")),
            "bridge:", .. Output(netns, "ip", "-o", "link", "show", "dev", "cni0").Split('\n').Select(l => IfIndex().Replace(l, "")),
            "bridge ports:", .. Sorted(Output(netns, "ip", "-o", "link", "show", "master", "cni0")).Select(l => IfIndex().Replace(l, "")),
            "firewall:", .. Firewall(netns, "filter"), .. Firewall(netns, "nat"),
        ];
        return string.Join('\n', parts);
    }

    /// <summary>The first lines that differ, for a drill's detail.</summary>
    public static string Diff(string before, string after)
    {
        HashSet<string> a = [.. before.Split('\n')];
        HashSet<string> b = [.. after.Split('\n')];
        IEnumerable<string> gone = a.Except(b).Take(5).Select(l => "- " + l);
        IEnumerable<string> added = b.Except(a).Take(5).Select(l => "+ " + l);
        return string.Join('\n', gone.Concat(added));
    }

    /// <summary>The agent's chains (TWILL-FWD, TWILL-POSTRTG) and Flannel's names for them.</summary>
    public static readonly string[] AgentChains = ["TWILL-", "FLANNEL-"];

    /// <summary>The agent's chains of one table and every rule that names them, without packet counters.</summary>
    private static IEnumerable<string> Firewall(string netns, string table) =>
        Sorted(Output(netns, "iptables-save", "-t", table))
            .Where(l => AgentChains.Any(c => l.Contains(c, StringComparison.Ordinal)))
            .Select(l => Counters().Replace(l, ""))
            .Select(l => table + " " + l);

    private static string Output(string netns, params string[] command)
    {
        Twill.Testing.Tool.Result r = DrillLab.In(netns, command);
        // A missing device is part of the state ("absent"), not an error of the snapshot.
        return r.ExitCode == 0 ? r.Stdout.Trim() : $"(absent: {string.Join(' ', command)})";
    }

    private static IEnumerable<string> Sorted(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).Order(StringComparer.Ordinal);

    [GeneratedRegex(@"^\d+: ")]
    private static partial Regex IfIndex();

    [GeneratedRegex(@" \[\d+:\d+\]")]
    private static partial Regex Counters();
}
