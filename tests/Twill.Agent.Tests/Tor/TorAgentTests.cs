using System.Diagnostics;
using Twill.Testing;
using Xunit.Abstractions;

namespace Twill.Agent.Tests.Tor;

/// <summary>
/// The bgp backend end to end: real agents (processes in node namespaces, file store) announce to a
/// real FRR ToR; the ToR's kernel table (`ip -n TOR route`, proto bgp) and FRR's own view of each
/// neighbour (`show bgp neighbors`, e.g. "R bit: True") are the oracles.
/// </summary>
[Trait("Needs", "frr")]
public class TorAgentTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    private const string Peer = """{"Address":"192.0.2.1","ASN":65000,"HoldTime":9}""";

    private static string Backend(string extra = "") =>
        $$"""{"Type":"bgp","ASN":64512,"Peers":[{{Peer}}],"RestartTime":60,"ConnectTimeout":3{{extra}}}""";

    private static void Eventually(Func<bool> condition, string what, TorAgentLab lab) =>
        Assert.True(AgentLab.Eventually(condition, Patience), $"{what}\n{lab.Diagnose()}");

    [FrrFact]
    public void TwoNodesOneAsn_TorRoutesEachSubnet_CleanStopWithdraws_CrashKeepsTheRouteAndTheRestartSetsTheRBit()
    {
        using TorAgentLab tor = new(Backend(), 2);
        AgentLab lab = tor.Lab;
        Stopwatch clock = Stopwatch.StartNew();
        Eventually(() => tor.TorRoutesNode(0) && tor.TorRoutesNode(1), "both subnets in the ToR's kernel via their nodes, proto bgp", tor);
        output.WriteLine($"both routes in the ToR {clock.ElapsedMilliseconds} ms after subnet.env");
        // The nodes program nothing: the ToR routes between them.
        Assert.Empty(lab.TwillRoutes(0));
        Assert.Empty(lab.TwillRoutes(1));
        Eventually(() => lab.Ping(0, 1) && lab.Ping(1, 0), "pods ping each other through the ToR", tor);
        Assert.Contains("R bit: False", tor.Neighbor(0), StringComparison.Ordinal);

        // A clean stop (SIGTERM): Cease, the ToR withdraws at once; the next start has R=0.
        Assert.Equal(0, lab.StopAgent(0));
        clock.Restart();
        Eventually(() => tor.Frr.HasNoRoute(tor.Subnet(0)), "node 1's route withdrawn after a clean stop", tor);
        output.WriteLine($"clean stop: route gone after {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"withdrawal took {clock.Elapsed}");
        Assert.Contains("Cease", lab.Log(0), StringComparison.Ordinal);
        Assert.True(tor.TorRoutesNode(1), "node 2's route stays");
        lab.StartAgent(0);
        Eventually(() => tor.TorRoutesNode(0), "node 1's route back after the restart", tor);
        Assert.Contains("R bit: False", tor.Neighbor(0), StringComparison.Ordinal);
        Assert.DoesNotContain("R bit set", lab.Log(0), StringComparison.Ordinal);

        // kill -9: no Cease; graceful restart keeps the route (stale) and the pods' traffic flows.
        tor.KillAgent(0);
        Eventually(() => !tor.Neighbor(0).Contains("BGP state = Established", StringComparison.Ordinal), "FRR sees node 1's session gone", tor);
        Assert.True(tor.TorRoutesNode(0), $"the ToR dropped the crashed node's route despite graceful restart\n{tor.Diagnose()}");
        Assert.Contains("stale", tor.Frr.Vtysh("show bgp ipv4 unicast " + tor.Subnet(0)), StringComparison.OrdinalIgnoreCase);
        Assert.True(lab.Ping(1, 0), "pod 2 -> pod 1 while node 1's agent is down");

        // The next run finds the previous one did not stop cleanly: R=1, and the route is refreshed.
        lab.StartAgent(0);
        Eventually(() => tor.Neighbor(0).Contains("R bit: True", StringComparison.Ordinal), "the restarted agent's OPEN has the R bit", tor);
        Eventually(() => !tor.Frr.Vtysh("show bgp ipv4 unicast " + tor.Subnet(0)).Contains("stale", StringComparison.OrdinalIgnoreCase),
            "the route no longer stale after our End-of-RIB", tor);
        Assert.True(tor.TorRoutesNode(0));
        Assert.Contains("R bit set", lab.Log(0), StringComparison.Ordinal);
    }
}
