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
        $$"""{"Type":"bgp","ASN":64512,"Peers":[{{Peer}}],"RestartTime":60,"ConnectTimeout":3,"Communities":["64512:100"]{{extra}}}""";

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
        Assert.Contains("64512:100", tor.Frr.Vtysh("show bgp ipv4 unicast " + tor.Subnet(0)), StringComparison.Ordinal);

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

    [FrrFact]
    public void OneNode_NoGracefulRestartCrashDrops_Md5WrongKeyLoggedRightKeyFileWorks_BadPasswordFileRefused_StaticAnnouncesNothing()
    {
        using TorAgentLab tor = new(Backend(",\"GracefulRestart\":false"), 1);
        AgentLab lab = tor.Lab;
        Eventually(() => tor.TorRoutesNode(0), "the subnet in the ToR", tor);

        // Without graceful restart a crash takes the route with it.
        tor.KillAgent(0);
        Stopwatch clock = Stopwatch.StartNew();
        Eventually(() => tor.Frr.HasNoRoute(tor.Subnet(0)), "the route gone after kill -9 without graceful restart", tor);
        output.WriteLine($"no GR: route gone {clock.ElapsedMilliseconds} ms after kill -9");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");

        // TCP-MD5: the ToR wants a key; a wrong one makes connect() hang, and the log says why within the connect timeout (3 s).
        tor.ConfigureTor("neighbor 192.0.2.11 password twill-md5-key");
        tor.SetBackend(Backend().Replace("\"HoldTime\":9", "\"HoldTime\":9,\"Password\":\"not-the-key\"", StringComparison.Ordinal));
        lab.StartAgent(0);
        clock.Restart();
        Eventually(() => lab.Log(0).Contains("check the MD5 password", StringComparison.Ordinal), "the agent names the MD5 key as the likely cause", tor);
        output.WriteLine($"wrong key reported after {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3 + 10), $"took {clock.Elapsed}");
        Assert.True(tor.Frr.HasNoRoute(tor.Subnet(0)));
        Assert.Equal(0, lab.StopAgent(0));

        // The right key, from a file; this node's own AS from NodeASNs (keyed by NODE_NAME).
        string keyFile = Path.Combine(lab.Dir, "tor-md5");
        File.WriteAllText(keyFile, "twill-md5-key\n");
        tor.SetBackend(Backend().Replace("\"HoldTime\":9", $"\"HoldTime\":9,\"PasswordFile\":\"{keyFile}\"", StringComparison.Ordinal)
            .Replace("\"ASN\":64512,", "\"ASN\":64512,\"NodeASNs\":{\"n1\":64601},", StringComparison.Ordinal));
        lab.StartAgent(0);
        Eventually(() => tor.TorRoutesNode(0), "the route in the ToR over the MD5 session", tor);
        Assert.Contains("remote AS 64601", tor.Neighbor(0), StringComparison.Ordinal);
        Assert.Equal(0, lab.StopAgent(0));
        Eventually(() => tor.Frr.HasNoRoute(tor.Subnet(0)), "withdrawn on a clean stop", tor);

        // A password file that is not there: a configuration error naming the field, before anything is leased.
        tor.SetBackend(Backend().Replace("\"HoldTime\":9", "\"HoldTime\":9,\"PasswordFile\":\"/nonexistent/twill-md5\"", StringComparison.Ordinal));
        lab.StartAgent(0);
        Assert.True(lab.WaitAgentExit(0, TimeSpan.FromSeconds(30)), "the agent should refuse the configuration");
        Assert.NotEqual(0, lab.Agents[0]!.ExitCode);
        Assert.Contains("Backend.Peers[0].PasswordFile", lab.Log(0), StringComparison.Ordinal);
        Assert.Contains("/nonexistent/twill-md5", lab.Log(0), StringComparison.Ordinal);
        lab.Agents[0]!.Dispose();
        lab.Agents[0] = null;

        // Static mode: the agent runs (subnet.env, data path ready) and announces nothing.
        tor.SetBackend("""{"Type":"bgp","Mode":"static"}""");
        File.Delete(lab.SubnetFile(0));
        lab.StartAgent(0);
        lab.WaitSubnetEnv(0, TimeSpan.FromSeconds(30));
        Eventually(() => lab.Log(0).Contains("static mode", StringComparison.Ordinal), "the agent says it is in static mode", tor);
        Thread.Sleep(2000); // a session would be up within the ToR's 1 s connect timer
        Assert.DoesNotContain("BGP state = Established", tor.Neighbor(0), StringComparison.Ordinal);
        Assert.True(tor.Frr.HasNoRoute(tor.Subnet(0)));
        Assert.Empty(lab.TwillRoutes(0));
        Assert.False(lab.Agents[0]!.HasExited, lab.Log(0));
    }

    [FrrFact]
    public void TwoNodesOneAsn_ImportOn_TorRoutesInTheClusterInstalledOthersNot_AsOverrideLetsPeersThrough()
    {
        using TorAgentLab tor = new(Backend(",\"ImportRoutes\":true"), 2, torExtra: ["as-override"], originate: ["10.244.200.0/24", "203.0.113.0/24"]);
        AgentLab lab = tor.Lab;
        Eventually(() => tor.TorRoutesNode(0) && tor.TorRoutesNode(1), "both subnets in the ToR", tor);
        string own = tor.Subnet(0), peer = tor.Subnet(1);

        // Node 1 installs, with protocol 84, the ToR's route inside the cluster network and node 2's
        // subnet (as-override rewrote our shared AS in its path), never 203.0.113.0/24 nor its own subnet.
        Eventually(() => lab.TwillRoutes(0).SequenceEqual(new[] { "10.244.200.0/24", peer }.Order(StringComparer.Ordinal)), "imported routes on node 1", tor);
        string via = lab.Nodes[0].IpJson("route", "show", "10.244.200.0/24")[0].GetProperty("gateway").GetString()!;
        Assert.Equal("192.0.2.1", via);
        Assert.DoesNotContain("203.0.113.0/24", lab.TwillRoutes(0));
        Assert.DoesNotContain(own, lab.TwillRoutes(0));
        Assert.True(lab.Ping(0, 1), "pods still talk");

        // Without as-override node 2's path holds our own AS: the import filter drops it (a loop), and its route goes.
        tor.ConfigureTor("address-family ipv4 unicast", "no neighbor 192.0.2.11 as-override");
        tor.Frr.VtyshAll(["-c", "clear bgp 192.0.2.11 soft out"]);
        Eventually(() => lab.TwillRoutes(0).SequenceEqual(["10.244.200.0/24"]), "node 2's subnet no longer imported once its path holds AS 64512", tor);
        Assert.Contains("64512", tor.Frr.Vtysh("show bgp ipv4 unicast " + peer), StringComparison.Ordinal);
    }
}
