using System.Net;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>One route of the ToR's kernel into the pod network, and the node its next hop is.</summary>
public sealed record TorRouteRow(string Subnet, string Via, string Protocol, string Node);

/// <summary>
/// The ToR as <c>twill lab status</c> shows it (tor labs): its FRR daemons, its kernel's routes into
/// the pod network (which node each goes to), and its own view of the BGP sessions
/// (<c>vtysh -c 'show bgp summary'</c>).
/// </summary>
public sealed record TorStatus(string Heading, IReadOnlyList<TorRouteRow> Routes, string BgpSummary)
{
    /// <summary>Null when the lab has no ToR.</summary>
    public static TorStatus? Collect(LabState state, LabPaths paths)
    {
        if (state.Underlay != TopologyPlanner.Format(LabUnderlay.Tor))
        {
            return null;
        }
        string ns = TopologyPlanner.LabPrefix(state.Name) + "tor";
        string daemons = string.Join(", ", TorRouter.Daemons.Select(d =>
            state.Processes.FirstOrDefault(p => p.Role == TorRouter.Role(d)) is LabProcess p
                ? $"{d} {(LabProcesses.IsAlive(p) ? $"running (PID {p.Pid})" : $"exited (PID {p.Pid})")}"
                : $"{d} not started"));
        string heading = $"ToR {ns}: {state.TorMode ?? "bgp"} mode, AS {LabTor.Asn} at {LabTor.Loopback}; FRR {daemons}";
        if (!NetNs.Exists(ns) || !File.Exists(paths.NetConf))
        {
            return new TorStatus(heading + " (its namespace or the net-conf is gone)", [], "");
        }
        IPNetwork cluster = NetworkConfig.Parse(File.ReadAllText(paths.NetConf), out _).Network ?? IPNetwork.Parse("0.0.0.0/0");
        List<TorRouteRow> rows = [.. TorRouter.PodRoutes(ns, cluster).Select(r => new TorRouteRow(
            r.Destination.ToString(),
            r.Gateway?.ToString() ?? "-",
            TorRouter.Describe(r.Protocol),
            state.Nodes.FirstOrDefault(n => n.Address == r.Gateway?.ToString())?.Name ?? "-"))];
        TorRouter router = new(paths);
        string summary;
        try
        {
            summary = router.Answers("bgpd") ? router.Show("show bgp summary") : "bgpd is not answering (no vty socket)";
        }
        catch (LabStepException e)
        {
            summary = e.Message;
        }
        return new TorStatus(heading, rows, summary);
    }
}
