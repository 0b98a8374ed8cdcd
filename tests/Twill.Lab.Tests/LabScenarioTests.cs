using System.Text.Json;
using Twill.Testing;

namespace Twill.Lab.Tests;

/// <summary>
/// The lab in the configurations issue 6 names beyond the demo: the etcd store, DirectRouting on
/// both underlays, five nodes. One class, so these heavy tests run one after another.
/// </summary>
public sealed class LabScenarioTests
{
    private const string DirectRoutingNetConf =
        """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789,"DirectRouting":true}}""";

    [RootFact]
    public void Up_EtcdStoreVxlanL2_CheckPassesAndDownLeavesNothing()
    {
        string name = LabHarness.NewName();
        try
        {
            LabHarness.Up(name, "--nodes", "3", "--store", "etcd", "--backend", "vxlan", "--underlay", "l2");
            Assert.Contains($"twl-{name}-cp", LabHarness.State(name).Namespaces);
            LabHarness.Check(name, "30/30 pod pairs reachable, 6/6 hostPorts, 6/6 pods reach a foreign node");
        }
        finally
        {
            LabHarness.Down(name);
        }
        LabHarness.AssertNothingLeft(name);
    }

    [RootFact]
    public void Up_DirectRoutingL2_PeersRoutedViaUnderlayNotTheVtep()
    {
        string name = LabHarness.NewName();
        string netConf = WriteNetConf(name);
        try
        {
            LabHarness.Up(name, "--nodes", "3", "--underlay", "l2", "--net-conf", netConf);
            LabHarness.Check(name, "30/30 pod pairs reachable");

            LabState state = LabHarness.State(name);
            foreach (LabNodeState peer in state.Nodes.Where(n => n.Name != "node1"))
            {
                JsonElement route = LabHarness.RouteTo(name, "node1", LabHarness.PodNetwork(peer))
                    ?? throw new Xunit.Sdk.XunitException($"node1 has no route to {peer.Name}'s subnet {peer.Subnet}");
                // Same segment: host-gw style, next hop the peer's own underlay address on eth0.
                Assert.Equal(peer.Address, LabHarness.Text(route, "gateway"));
                Assert.Equal("eth0", LabHarness.Text(route, "dev"));
            }
        }
        finally
        {
            LabHarness.Down(name);
            File.Delete(netConf);
        }
        LabHarness.AssertNothingLeft(name);
    }

    [RootFact]
    public void Up_DirectRoutingL3_OtherSegmentStillViaTheVtep()
    {
        string name = LabHarness.NewName();
        string netConf = WriteNetConf(name);
        try
        {
            LabHarness.Up(name, "--nodes", "3", "--underlay", "l3", "--net-conf", netConf);
            LabHarness.Check(name, "30/30 pod pairs reachable");

            // l3: node1 and node3 share 192.0.2.0/24, node2 is behind the router.
            LabState state = LabHarness.State(name);
            LabNodeState node2 = LabHarness.Node(state, "node2");
            LabNodeState node3 = LabHarness.Node(state, "node3");

            JsonElement far = LabHarness.RouteTo(name, "node1", LabHarness.PodNetwork(node2))
                ?? throw new Xunit.Sdk.XunitException($"node1 has no route to node2's subnet {node2.Subnet}");
            Assert.Equal("flannel.4096", LabHarness.Text(far, "dev"));

            JsonElement near = LabHarness.RouteTo(name, "node1", LabHarness.PodNetwork(node3))
                ?? throw new Xunit.Sdk.XunitException($"node1 has no route to node3's subnet {node3.Subnet}");
            Assert.Equal(node3.Address, LabHarness.Text(near, "gateway"));
            Assert.Equal("eth0", LabHarness.Text(near, "dev"));
        }
        finally
        {
            LabHarness.Down(name);
            File.Delete(netConf);
        }
        LabHarness.AssertNothingLeft(name);
    }

    [RootFact]
    public void Up_FiveNodes_AllNinetyPairsReachable()
    {
        string name = LabHarness.NewName();
        try
        {
            LabHarness.Up(name, "--nodes", "5");
            LabHarness.Check(name, "90/90 pod pairs reachable, 10/10 hostPorts, 10/10 pods reach a foreign node");
        }
        finally
        {
            LabHarness.Down(name);
        }
        LabHarness.AssertNothingLeft(name);
    }

    private static string WriteNetConf(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), $"twill-labtests-{name}-net-conf.json");
        File.WriteAllText(path, DirectRoutingNetConf);
        return path;
    }
}
