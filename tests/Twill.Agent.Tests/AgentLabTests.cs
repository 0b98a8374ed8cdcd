using System.Text.Json;
using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>Whole agents as processes in node namespaces; the kernel and iproute2 are the oracle.</summary>
public class AgentLabTests
{
    private const string VxlanConf = """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""";
    private const string HostGwConf = """{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}""";

    private static string Diagnose(AgentLab lab) => string.Join("\n---\n", Enumerable.Range(0, lab.Nodes.Count).Select(lab.Log));

    [RootFact]
    public void Vxlan_ThreeNodes_PodsTalkMtuRightDriftRepaired()
    {
        using AgentLab lab = new(VxlanConf, 3);

        // Every pair, both ways, once the peers' objects are in.
        for (int a = 0; a < 3; a++)
        {
            for (int b = 0; b < 3; b++)
            {
                if (a != b)
                {
                    Assert.True(AgentLab.Eventually(() => lab.Ping(a, b), TimeSpan.FromSeconds(30)), $"pod {a + 1} -> pod {b + 1}\n{Diagnose(lab)}");
                }
            }
        }
        // TCP across nodes.
        Tool.Result server = lab.Pods[1].Exec("iperf3", "-s", "-1", "-D");
        Assert.Equal(0, server.ExitCode);
        // -D returns before the server listens; on a loaded machine that gap is long.
        Assert.True(AgentLab.Eventually(() => lab.Pods[1].Exec("ss", "-Htln", "sport", "= :5201").Stdout.Contains("5201", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20)), "iperf3 server listening");
        Tool.Result client = lab.Pods[0].Exec("iperf3", "-c", lab.PodIp(1), "-n", "2M", "-J");
        Assert.True(client.ExitCode == 0, client.Stderr + client.Stdout);
        using (JsonDocument doc = JsonDocument.Parse(client.Stdout))
        {
            JsonElement end = doc.RootElement.GetProperty("end");
            Assert.True(end.GetProperty("sum_sent").GetProperty("bytes").GetInt64() >= 2 * 1024 * 1024);
            Assert.True(end.GetProperty("sum_received").GetProperty("bytes").GetInt64() > 1024 * 1024);
        }

        // MTU: the overlay's is 1450; DF pings of MTU-28 pass, one byte more does not.
        Assert.True(lab.Ping(0, 1, "-M", "do", "-s", "1422"), "1422-byte DF ping");
        Assert.False(lab.Ping(0, 1, "-M", "do", "-s", "1423"), "1423-byte DF ping should not fit");

        // Drift: a route and a neighbour deleted by hand come back within a resync (1 s here).
        string peerSubnet = lab.TwillRoutes(0)[0];
        lab.Nodes[0].Ip("route", "del", peerSubnet);
        Assert.True(AgentLab.Eventually(() => lab.TwillRoutes(0).Contains(peerSubnet), TimeSpan.FromSeconds(30)), $"route restored\n{lab.Log(0)}");
        // The whole device deleted: back with every peer.
        lab.Nodes[0].Ip("link", "del", "flannel.4096");
        Assert.True(AgentLab.Eventually(() => lab.TwillRoutes(0).Length == 2 && lab.Ping(0, 2), TimeSpan.FromSeconds(30)), $"device restored\n{lab.Log(0)}");
        Assert.Contains("\"address\":\"", lab.Nodes[0].Ip("-j", "link", "show", "flannel.4096"), StringComparison.Ordinal);
    }

    [RootFact]
    public void HostGw_TwoNodes_PodsTalkAndRoutesViaPeer()
    {
        // No firewall at all: the agent must still run (it once took the absent firewall loop for a dead one).
        using AgentLab lab = new(HostGwConf, 2, "--iptables-forward-rules=false");

        Assert.True(AgentLab.Eventually(() => lab.Ping(0, 1) && lab.Ping(1, 0), TimeSpan.FromSeconds(30)), Diagnose(lab));
        JsonElement route = lab.Nodes[0].IpJson("route", "show", "proto", "84")[0];
        Assert.Equal("192.0.2.12", route.GetProperty("gateway").GetString());
        Assert.Equal("eth0", route.GetProperty("dev").GetString());
        Assert.Equal("1500", lab.Nodes[0].Exec("sh", "-c", "grep FLANNEL_MTU " + lab.SubnetFile(0) + " | cut -d= -f2").Stdout.Trim());
        Thread.Sleep(1500);
        Assert.False(lab.Agents[0]!.HasExited, lab.Log(0));
    }

    [RootFact]
    public void Vxlan_PeerRemovedAndHostileLease_ObjectsGoneNothingElseChanges()
    {
        using AgentLab lab = new(VxlanConf, 3);
        Assert.True(AgentLab.Eventually(() => lab.TwillRoutes(0).Length == 2, TimeSpan.FromSeconds(30)), Diagnose(lab));
        string[] before = lab.TwillRoutes(0);

        // A hostile lease: overlapping node 1's subnet and claiming node 1's public IP.
        string own = Twill.Core.SubnetEnv.Read(lab.SubnetFile(0)).Subnet!.Value.Network.ToString();
        FileLeaseStore store = new(lab.StoreDir);
        string hostileKey = "10.244.0.0-16";
        store.TryCreateAsync(hostileKey,
            """{"PublicIP":"192.0.2.11","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"0a:66:66:66:66:66"}}""",
            TimeSpan.FromHours(1), CancellationToken.None).GetAwaiter().GetResult();
        Thread.Sleep(2500);
        Assert.Equal(before, lab.TwillRoutes(0));
        Assert.True(lab.Ping(0, 1), "pod 1 -> pod 2 after the hostile lease");
        Assert.DoesNotContain("0a:66:66:66:66:66", lab.Nodes[0].Exec("bridge", "fdb", "show", "dev", "flannel.4096").Stdout, StringComparison.Ordinal);
        Assert.Contains(own, lab.Nodes[0].Ip("route", "show"), StringComparison.Ordinal);

        // Node 3 leaves: its agent stops (data path stays), its lease goes.
        string gone = Twill.Core.SubnetEnv.Read(lab.SubnetFile(2)).Subnet!.Value.Network.ToString();
        Assert.Equal(0, lab.StopAgent(2));
        Assert.True(lab.Ping(1, 2), "node 3's pods still reachable while its agent is stopped");
        store.DeleteAsync(gone.Replace('/', '-'), CancellationToken.None).GetAwaiter().GetResult();
        Assert.True(AgentLab.Eventually(() => !lab.TwillRoutes(0).Contains(gone) && !lab.TwillRoutes(1).Contains(gone), TimeSpan.FromSeconds(30)),
            $"routes to {gone} removed\n{Diagnose(lab)}");
        Assert.DoesNotContain(gone.Split('/')[0], lab.Nodes[0].Ip("neigh", "show", "dev", "flannel.4096"), StringComparison.Ordinal);
    }

    [RootFact]
    public void Vxlan_AgentRestartedDuringPing_NoPacketLost()
    {
        using AgentLab lab = new(VxlanConf, 2);
        Assert.True(AgentLab.Eventually(() => lab.Ping(0, 1), TimeSpan.FromSeconds(30)), Diagnose(lab));

        Task<Tool.Result> ping = Task.Run(() => lab.Pods[0].Exec("ping", "-c", "60", "-i", "0.05", "-W", "1", lab.PodIp(1)));
        Thread.Sleep(500);
        Assert.Equal(0, lab.StopAgent(0));
        Thread.Sleep(300);
        lab.StartAgent(0);
        Tool.Result result = ping.GetAwaiter().GetResult();

        Assert.Contains(" 0% packet loss", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("60 received", result.Stdout, StringComparison.Ordinal);
        Assert.True(AgentLab.Eventually(() => lab.Log(0).Contains("Data path ready", StringComparison.Ordinal), TimeSpan.FromSeconds(30)));
        string log = lab.Log(0);
        Assert.Contains("Stopped; the data path is left in place", log, StringComparison.Ordinal);
    }
}
