using System.Net;
using Twill.Bgp.Config;

namespace Twill.Lab.Tests;

/// <summary>Planning <c>--topology tor</c>: racks, the ToR, the backend and mode that go with it, FRR's configuration.</summary>
public class LabTorPlannerTests
{
    [Fact]
    public void Plan_Tor_TwoRacksTheTorAsEveryNodesGatewayBgpByDefault()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Underlay = LabUnderlay.Tor, Nodes = 3 });

        Assert.Equal(LabBackend.Bgp, t.Backend);
        Assert.Equal(LabTorMode.Bgp, t.Tor!.Mode);
        Assert.Equal(["rack1", "rack2"], t.Segments.Select(s => s.Bridge));
        Assert.Equal("twl-lab-tor", t.Router!.Namespace);
        Assert.Equal(["192.0.2.1", "198.51.100.1"], t.Router.Interfaces.Select(i => i.Address.ToString()));
        // Odd nodes on rack 1, even on rack 2: node1 and node2 have no L2 path to each other.
        Assert.Equal(["192.0.2.11", "198.51.100.12", "192.0.2.13"], t.Nodes.Select(n => n.Address.ToString()));
        Assert.Equal(["192.0.2.1", "198.51.100.1", "192.0.2.1"], t.Nodes.Select(n => n.Gateway!.ToString()));
        Assert.NotEqual(t.Node("node1").Underlay.Segment.Bridge, t.Node("node2").Underlay.Segment.Bridge);
        Assert.Contains("twl-lab-tor", t.Namespaces);
        Assert.Equal(IPNetwork.Parse("10.244.0.0/16"), t.Tor.ClusterNetwork);
        Assert.Equal(24, t.Tor.SubnetLength);
    }

    [Fact]
    public void NetConf_BothModes_AreValidBgpBackendsPeeringWithTheLabsTor()
    {
        BgpBackendConfig bgp = BgpBackendConfigReader.Parse(Backend(TorPlanner.NetConf(LabTorMode.Bgp)), out IReadOnlyList<string> warnings);
        Assert.Empty(warnings);
        Assert.Equal(TorMode.Bgp, bgp.Mode);
        Assert.Equal(LabTor.NodeAsn, bgp.Asn);
        BgpPeerConfig peer = Assert.Single(bgp.Peers);
        Assert.Equal(LabTor.Loopback, peer.Address);
        Assert.Equal(LabTor.Asn, peer.Asn);
        Assert.True(bgp.GracefulRestart);

        BgpBackendConfig stat = BgpBackendConfigReader.Parse(Backend(TorPlanner.NetConf(LabTorMode.Static)), out _);
        Assert.Equal(TorMode.Static, stat.Mode);
        Assert.Empty(stat.Peers);
    }

    [Fact]
    public void Plan_TorStatic_StaticNetConf()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Underlay = LabUnderlay.Tor, TorMode = LabTorMode.Static });

        Assert.Equal(LabTorMode.Static, t.Tor!.Mode);
        Assert.Equal(TorPlanner.NetConf(LabTorMode.Static), t.NetConf);
    }

    [Fact]
    public void Plan_NetConfModeDisagreesWithTorMode_ErrorNamesBoth()
    {
        LabConfigException e = Assert.Throws<LabConfigException>(() => TopologyPlanner.Plan(new LabOptions
        {
            Underlay = LabUnderlay.Tor,
            TorMode = LabTorMode.Bgp,
            NetConf = TorPlanner.NetConf(LabTorMode.Static),
            NetConfSource = "mine.json",
        }));

        Assert.Contains("--tor-mode bgp disagrees with mine.json (Backend.Mode \"static\")", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_NetConfModeStatic_TakenFromTheFile()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions { Underlay = LabUnderlay.Tor, NetConf = TorPlanner.NetConf(LabTorMode.Static) });

        Assert.Equal(LabTorMode.Static, t.Tor!.Mode);
    }

    [Theory]
    [InlineData(LabUnderlay.L2)]
    [InlineData(LabUnderlay.L3)]
    public void Plan_BgpWithoutTor_RefusedNamingTheTopology(LabUnderlay underlay)
    {
        LabConfigException e = Assert.Throws<LabConfigException>(() =>
            TopologyPlanner.Plan(new LabOptions { Underlay = underlay, Backend = LabBackend.Bgp, TorMode = LabTorMode.Static }));

        Assert.Contains("--topology tor", e.Message, StringComparison.Ordinal);
        Assert.Contains("--tor-mode is for --topology tor only", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_TorWithVxlan_Refused()
    {
        LabConfigException e = Assert.Throws<LabConfigException>(() =>
            TopologyPlanner.Plan(new LabOptions { Underlay = LabUnderlay.Tor, NetConf = SeedConfig.VxlanNetConf }));

        Assert.Contains("--topology tor runs the bgp backend", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BgpdConf_ListensOnBothRacks_AcceptsOnlyNodeSubnetsOfTheClusterNetwork()
    {
        LabTopology t = TopologyPlanner.Plan(new LabOptions
        {
            Underlay = LabUnderlay.Tor,
            NetConf = """{"Network":"10.50.0.0/16","SubnetLen":26,"Backend":{"Type":"bgp","ASN":64512,"Peers":[{"Address":"203.0.113.1","ASN":65000}]}}""",
        });

        string conf = TorPlanner.BgpdConf(t.Tor!);

        Assert.Contains(" bgp listen range 192.0.2.0/24 peer-group NODES\n bgp listen range 198.51.100.0/24 peer-group NODES\n", conf, StringComparison.Ordinal);
        Assert.Contains($"router bgp {LabTor.Asn}\n bgp router-id {LabTor.Loopback}\n", conf, StringComparison.Ordinal);
        Assert.Contains("ip prefix-list POD-SUBNETS seq 10 permit 10.50.0.0/16 ge 26 le 26", conf, StringComparison.Ordinal);
        Assert.Contains("  neighbor NODES prefix-list POD-SUBNETS in\n", conf, StringComparison.Ordinal);
    }

    [Fact]
    public void Unrouted_NamesTheNodesWhoseSubnetTheTorLacksOrRoutesElsewhere()
    {
        LabNodeState[] nodes =
        [
            new() { Name = "node1", Address = "192.0.2.11", Subnet = "10.244.0.1/24" },
            new() { Name = "node2", Address = "198.51.100.12", Subnet = "10.244.1.1/24" },
            new() { Name = "node3", Address = "192.0.2.13", Subnet = "10.244.2.1/24" },
        ];
        Twill.Netlink.Route[] routes =
        [
            new(IPNetwork.Parse("10.244.0.0/24")) { Gateway = IPAddress.Parse("192.0.2.11") },
            new(IPNetwork.Parse("10.244.1.0/24")) { Gateway = IPAddress.Parse("192.0.2.13") },
        ];

        Assert.Equal(["node2 (10.244.1.0/24 via 198.51.100.12)", "node3 (10.244.2.0/24 via 192.0.2.13)"], TorRouter.Unrouted(routes, nodes));
    }

    private static string Backend(string netConf)
    {
        using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(netConf);
        return doc.RootElement.GetProperty("Backend").GetRawText();
    }
}
