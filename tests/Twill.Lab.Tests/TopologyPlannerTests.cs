using System.Net;

namespace Twill.Lab.Tests;

public class TopologyPlannerTests
{
    [Fact]
    public void Plan_Defaults_SeedVxlanThreeNodesOnOneSwitch()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions());

        Assert.Equal(LabBackend.Vxlan, t.Backend);
        Assert.Equal(SeedConfig.VxlanNetConf, t.NetConf);
        Assert.Equal("vxlan0", t.CniConf.Name);
        Assert.Equal(["flannel", "portmap"], t.CniConf.Types);
        Assert.Equal(["node1", "node2", "node3"], t.Nodes.Select(n => n.Name));
        Assert.Equal(["192.0.2.11", "192.0.2.12", "192.0.2.13"], t.Nodes.Select(n => n.Address.ToString()));
        Assert.All(t.Nodes, n => Assert.Null(n.Gateway));
        Assert.Single(t.Segments);
        Assert.Null(t.Router);
        Assert.Null(t.ControlPlane);
        Assert.Equal(6, t.Pods.Count);
    }

    [Fact]
    public void Plan_Defaults_NamespacesCarryTheLabPrefix()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Nodes = 2, PodsPerNode = 1 });

        Assert.Equal(["twl-lab-sw", "twl-lab-node1", "twl-lab-node2", "twl-lab-n1p1", "twl-lab-n2p1"], t.Namespaces);
    }

    [Fact]
    public void Plan_L3_AlternatesSegmentsAndRoutesViaTheRouter()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Underlay = LabUnderlay.L3, Nodes = 3 });

        Assert.Equal(2, t.Segments.Count);
        Assert.NotNull(t.Router);
        Assert.Equal("twl-lab-rtr", t.Router.Namespace);
        Assert.Equal(["192.0.2.1", "198.51.100.1"], t.Router.Interfaces.Select(i => i.Address.ToString()));
        Assert.Equal(["192.0.2.11", "198.51.100.12", "192.0.2.13"], t.Nodes.Select(n => n.Address.ToString()));
        Assert.Equal(["192.0.2.1", "198.51.100.1", "192.0.2.1"], t.Nodes.Select(n => n.Gateway!.ToString()));
    }

    [Fact]
    public void Plan_HostGwOnL3_RefusedWithTheReason()
    {
        LabConfigException e = Assert.Throws<LabConfigException>(() =>
            TopologyPlanner.Plan(new LabOptions { Backend = LabBackend.HostGw, Underlay = LabUnderlay.L3 }));

        Assert.Contains("host-gw cannot run on an l3 underlay", e.Message, StringComparison.Ordinal);
        Assert.Contains("one L2 segment", e.Message, StringComparison.Ordinal);
        Assert.Contains("--backend vxlan", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_HostGwNetConfOnL3_RefusedToo()
    {
        Assert.Throws<LabConfigException>(() =>
            TopologyPlanner.Plan(new LabOptions { NetConf = SeedConfig.HostGwNetConf, Underlay = LabUnderlay.L3 }));
    }

    [Fact]
    public void Plan_HostGwOnL2_UsesTheSeedHostGwNetConf()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Backend = LabBackend.HostGw });

        Assert.Equal(LabBackend.HostGw, t.Backend);
        Assert.Equal(SeedConfig.HostGwNetConf, t.NetConf);
    }

    [Fact]
    public void Plan_NetConfBackendCaseInsensitive_Recognised()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { NetConf = """{"network":"10.244.0.0/16","backend":{"type":"HOST-GW"}}""" });

        Assert.Equal(LabBackend.HostGw, t.Backend);
    }

    [Fact]
    public void Plan_BackendDisagreesWithNetConf_ErrorNamesBoth()
    {
        LabConfigException e = Assert.Throws<LabConfigException>(() =>
            TopologyPlanner.Plan(new LabOptions { Backend = LabBackend.HostGw, NetConf = SeedConfig.VxlanNetConf, NetConfSource = "my.json" }));

        Assert.Contains("--backend host-gw disagrees with my.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_UnsupportedBackendType_ErrorNamesTheType()
    {
        LabConfigException e = Assert.Throws<LabConfigException>(() =>
            TopologyPlanner.Plan(new LabOptions { NetConf = """{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}""" }));

        Assert.Contains("Backend.Type \"udp\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_SeveralProblems_AllReported()
    {
        LabConfigException e = Assert.Throws<LabConfigException>(() =>
            TopologyPlanner.Plan(new LabOptions { Name = "Bad_Name", Nodes = 0, PodsPerNode = 0 }));

        Assert.Contains("--name \"Bad_Name\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("--nodes 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("--pods-per-node 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_EtcdStore_AddsAControlPlaneOnSegmentA()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Store = LabStore.Etcd, Underlay = LabUnderlay.L3 });

        Assert.NotNull(t.ControlPlane);
        Assert.Equal("twl-lab-cp", t.ControlPlane.Namespace);
        Assert.Equal(IPAddress.Parse("192.0.2.2"), t.ControlPlane.Address);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), t.ControlPlane.Gateway);
        Assert.Equal("http://192.0.2.2:2379", AgentLaunch.EtcdEndpoint(t));
    }

    [Fact]
    public void Plan_Pods_HostPortsDistinctPerNode()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Nodes = 2, PodsPerNode = 3 });

        Assert.Equal(["n1p1", "n1p2", "n1p3", "n2p1", "n2p2", "n2p3"], t.Pods.Select(p => p.Name));
        foreach (IGrouping<string, LabPod> node in t.Pods.GroupBy(p => p.Node))
        {
            Assert.Equal(node.Count(), node.Select(p => p.HostPort).Distinct().Count());
        }
        Assert.All(t.Pods, p => Assert.Equal(TopologyPlanner.ContainerPort, p.ContainerPort));
        Assert.Equal("twill-lab-lab-n2p3", t.Pods[^1].ContainerId("lab"));
    }

    [Fact]
    public void Plan_TenNodesL3_InterfaceNamesFitIfnamsiz()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Nodes = TopologyPlanner.MaxNodes, Underlay = LabUnderlay.L3, Store = LabStore.Etcd, Name = "abcdefghij" });

        IEnumerable<string> names = t.Nodes.SelectMany(n => new[] { n.Underlay.Name, n.Underlay.SwitchPort })
            .Concat(t.Router!.Interfaces.SelectMany(i => new[] { i.Name, i.SwitchPort }))
            .Concat(t.Segments.Select(s => s.Bridge));
        Assert.All(names, n => Assert.InRange(n.Length, 1, 15));
        Assert.Equal(t.Nodes.Count, t.Nodes.Select(n => n.Address).Distinct().Count());
    }
}
