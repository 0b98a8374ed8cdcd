using System.Diagnostics;
using Twill.Netlink;
using Twill.Os;

namespace Twill.Lab;

/// <summary>
/// <c>--topology tor</c>'s steps of <c>up</c>: the FRR top-of-rack router before the agents, and once
/// every node holds a lease, the ToR's table holding every node's subnet (learnt over BGP, or typed
/// in from <c>twill tor routes --format frr</c> in static mode).
/// </summary>
public sealed partial class LabController
{
    private static readonly TimeSpan TorTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What a tor lab needs on the machine: FRR's daemons, vtysh, the frr user.</summary>
    private static IEnumerable<string> TorPreflight()
    {
        foreach (string daemon in TorRouter.Daemons.Where(d => !File.Exists(Path.Combine(TorRouter.FrrDirectory, d))))
        {
            yield return $"--topology tor needs FRR's {daemon} at {Path.Combine(TorRouter.FrrDirectory, daemon)} (Debian package frr; build/install-deps.sh)";
        }
        if (FindOnPath(TorRouter.VtyshPath) is null)
        {
            yield return "--topology tor needs vtysh on PATH (Debian package frr)";
        }
        if (!File.ReadLines("/etc/passwd").Any(l => l.StartsWith(TorRouter.FrrUser + ":", StringComparison.Ordinal)))
        {
            yield return $"--topology tor needs the user {TorRouter.FrrUser} FRR runs as (the Debian package frr creates it)";
        }
    }

    /// <summary>The ToR's own step, after the underlay (its racks are wired) and before the store and agents.</summary>
    private IEnumerable<UpStep> TorRouterSteps(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        if (topology.Tor is not LabTor tor)
        {
            yield break;
        }
        yield return new("tor", $"ToR {topology.Router!.Namespace}: FRR zebra, staticd, bgpd (AS {LabTor.Asn}, loopback {LabTor.Loopback}, " +
                                $"nodes of {string.Join(" and ", tor.Racks)} may peer)", () => StartTor(topology, tor, paths, journal));
    }

    /// <summary>After the agents: the ToR routes every node's subnet, however it learnt it.</summary>
    private IEnumerable<UpStep> TorRouteSteps(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        if (topology.Tor is not LabTor tor)
        {
            yield break;
        }
        yield return tor.Mode == LabTorMode.Static
            ? new("tor routes", $"ToR: static routes from `twill tor routes --format frr` typed in with vtysh ({new TorRouter(paths).StaticRoutesFile})",
                () =>
                {
                    ProgramStaticRoutes(topology, paths);
                    WaitForTorRoutes(topology, tor, paths, journal);
                })
            : new("tor routes", $"ToR: every node's subnet learnt over BGP", () => WaitForTorRoutes(topology, tor, paths, journal));
    }

    private static void StartTor(LabTopology topology, LabTor tor, LabPaths paths, LabJournal journal)
    {
        TorRouter router = new(paths);
        router.WriteConfig(tor);
        string torNs = topology.Router!.Namespace;
        using (NetNs ns = NetNs.Open(torNs))
        {
            using RtnlConnection rtnl = RtnlConnection.Open(ns);
            rtnl.AddAddress(rtnl.GetLink("lo").Index, LabTor.Loopback, 32, noDad: true);
        }
        foreach (string daemon in TorRouter.Daemons)
        {
            LabProcess process = Start(journal, TorRouter.Role(daemon), torNs, router.Arguments(daemon), router.Log(daemon));
            WaitFor(() => router.Answers(daemon), TorTimeout,
                () => LabProcesses.IsAlive(process) ? null : $"FRR's {daemon} exited: {Tail(router.Log(daemon))}",
                $"FRR's {daemon} did not open its vty socket within {TorTimeout.TotalSeconds:0} s: {Tail(router.Log(daemon))}");
        }
    }

    /// <summary>The operator's path of static mode: the routes the leases ask for, printed by twill, pasted into the switch.</summary>
    private void ProgramStaticRoutes(LabTopology topology, LabPaths paths)
    {
        TorRouter router = new(paths);
        // Run where an operator's box would be: the ToR's namespace reaches every store (etcd and
        // the API server on rack 1); the file store is a directory.
        ProcessResult routes = TorRouter.Run(LabProcesses.WithNetns(topology.Router!.Namespace,
            [TwillPath, "tor", "routes", "--format", "frr", .. AgentLaunch.StoreArguments(topology, paths, paths.Kubeconfig)]));
        if (routes.ExitCode != 0)
        {
            throw new LabStepException($"twill tor routes exited {routes.ExitCode}: {routes.StderrText.Trim()}");
        }
        File.WriteAllText(router.StaticRoutesFile, routes.StdoutText);
        router.Apply(routes.StdoutText);
    }

    private static void WaitForTorRoutes(LabTopology topology, LabTor tor, LabPaths paths, LabJournal journal)
    {
        string torNs = topology.Router!.Namespace;
        TorRouter router = new(paths);
        IReadOnlyList<string> Unrouted() => TorRouter.Unrouted(TorRouter.PodRoutes(torNs, tor.ClusterNetwork), journal.State.Nodes);
        Stopwatch sw = Stopwatch.StartNew();
        // The timeout's message is built when it expires: it shows the ToR's sessions at that moment.
        WaitFor(() => Unrouted().Count == 0, TimeSpan.MaxValue, () =>
            journal.State.Processes.FirstOrDefault(p => p.Role.StartsWith("tor ", StringComparison.Ordinal) && !LabProcesses.IsAlive(p)) is LabProcess dead
                ? $"FRR's {dead.Role} exited: {Tail(dead.Log!)}"
                : sw.Elapsed > TorTimeout
                    ? $"the ToR does not route {string.Join(", ", Unrouted())} within {TorTimeout.TotalSeconds:0} s ({TorPlanner.Format(tor.Mode)} mode); " +
                      $"its BGP sessions:{Environment.NewLine}{router.Show("show bgp summary")}"
                    : null,
            "");
    }
}
