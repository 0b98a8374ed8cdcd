using System.Net;
using Twill.Core;
using Twill.Leases.Store;

namespace Twill.Leases.Kube.Tests;

public class NodeLeaseTableTests
{
    internal static readonly NetworkConfig Vxlan = NetworkConfig.Parse("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""", out _);
    internal static readonly NetworkConfig HostGw = NetworkConfig.Parse("""{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}""", out _);

    private static (NodeLeaseTable Table, PeerSet Peers, List<string> Warnings) NewTable(NetworkConfig? config = null, string own = "own", string ownCidr = "10.244.9.0/24")
    {
        List<string> warnings = [];
        NodeLeaseTable table = new(KubeAnnotations.Default, warnings.Add);
        config ??= Vxlan;
        LeaseSubnets subnets = new(IPNetwork.Parse(ownCidr));
        table.Configure(config, own, subnets);
        PeerSet peers = new(config, warnings.Add)
        {
            Own = new Lease(subnets, LeaseAttrs.Parse("""{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"02:00:00:00:00:09"}}"""), DateTimeOffset.MaxValue, 1),
        };
        return (table, peers, warnings);
    }

    private static NodeSummary OwnNode() => NodeJson.Node("own", NodeJson.Vxlan("192.0.2.9", "02:00:00:00:00:09"), ["10.244.9.0/24"]);

    private static List<PeerEvent> Apply(PeerSet peers, IEnumerable<LeaseChange> changes) => [.. changes.SelectMany(peers.Apply)];

    [Fact]
    public void Reset_LinuxVxlanFixture_IsFlannelsLeaseAndAPeer()
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable();

        IReadOnlyList<LeaseRecord> records = table.Reset([OwnNode(), NodeJson.FixtureNode("node.linux-vxlan.json", rv: 17)]);
        PeerEvent snapshot = peers.Reset(records);

        LeaseRecord linux = Assert.Single(records, r => r.Key == "10.244.1.0-24");
        Assert.Equal("""{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"12:c6:65:89:b4:e3"}}""", linux.Value);
        Assert.Equal(17, linux.Revision);
        Assert.Equal(DateTimeOffset.MaxValue, linux.Expiration);
        Lease peer = Assert.Single(snapshot.Peers);
        Assert.Equal("12:c6:65:89:b4:e3", peer.Attrs.VxlanData!.VtepMacText);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Reset_HostGwFixture_BackendDataNullIsNoData()
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable(HostGw);

        PeerEvent snapshot = peers.Reset(table.Reset([NodeJson.FixtureNode("node.linux-host-gw.json")]));

        Lease peer = Assert.Single(snapshot.Peers);
        Assert.Equal("10.244.3.0-24", peer.Key);
        Assert.Equal("host-gw", peer.Attrs.BackendType);
        Assert.Null(peer.Attrs.BackendData);
        Assert.Equal("192.0.2.13", peer.Attrs.PublicIP.ToString());
        Assert.Empty(warnings);
    }

    [Fact]
    public void Upsert_WindowsFirstThenFinalPublication_PeerWithoutMacThenChangedWithDrMac()
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable();
        peers.Reset(table.Reset([OwnNode()]));

        List<PeerEvent> first = Apply(peers, table.Upsert(NodeJson.FixtureNode("node.windows-vxlan.first.json", rv: 20), 20));
        List<PeerEvent> final = Apply(peers, table.Upsert(NodeJson.FixtureNode("node.windows-vxlan.json", rv: 21), 21));

        // The first publication is a lease without a VtepMAC: the vxlan plan waits for it (and the agent
        // learns from it that the peer is Windows); the DR MAC arrives as a change of the same lease.
        PeerEvent added = Assert.Single(first);
        Assert.Equal(PeerEventKind.Added, added.Kind);
        Assert.False(added.Lease!.Attrs.VxlanData!.HasVtepMac);
        PeerEvent changed = Assert.Single(final);
        Assert.Equal(PeerEventKind.Changed, changed.Kind);
        Assert.Equal("00:15:5d:4a:1c:07", changed.Lease!.Attrs.VxlanData!.VtepMacText);
        Assert.Equal("10.244.2.0-24", changed.Lease.Key);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Reset_NodeWithoutFlannelAnnotation_IsIgnoredSilently()
    {
        (NodeLeaseTable table, _, List<string> warnings) = NewTable();

        IReadOnlyList<LeaseRecord> records = table.Reset([NodeJson.Node("kubelet-only", null, ["10.244.4.0/24"])]);

        Assert.Empty(records);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Upsert_Heartbeat_NoChange()
    {
        (NodeLeaseTable table, _, _) = NewTable();
        table.Reset([OwnNode(), NodeJson.Node("n1", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11"), ["10.244.1.0/24"], rv: 5)]);

        IReadOnlyList<LeaseChange> changes = table.Upsert(NodeJson.Node("n1", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11"), ["10.244.1.0/24"], rv: 6), 6);

        Assert.Empty(changes);
    }

    [Theory]
    [InlineData("public-ip", "not-an-ip", "annotation flannel.alpha.coreos.com/public-ip 'not-an-ip' is not an IPv4 address")]
    [InlineData("public-ip", "fd00::1", "is not an IPv4 address")]
    [InlineData("backend-data", "{\"VNI\":4096,", "annotation flannel.alpha.coreos.com/backend-data")]
    [InlineData("backend-data", "{\"VNI\":4096,\"VtepMAC\":\"zz:zz\"}", "VtepMAC")]
    public void Upsert_CorruptAnnotations_SkippedWithOneWarningNamingTheNode(string annotation, string value, string expected)
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable();
        peers.Reset(table.Reset([OwnNode()]));
        Dictionary<string, string> a = NodeJson.Vxlan("192.0.2.12", "02:00:00:00:00:12");
        a[NodeJson.P + annotation] = value;

        List<PeerEvent> events = Apply(peers, table.Upsert(NodeJson.Node("evil", a, ["10.244.2.0/24"], rv: 7), 7));
        events.AddRange(Apply(peers, table.Upsert(NodeJson.Node("evil", a, ["10.244.2.0/24"], rv: 8), 8))); // a heartbeat

        Assert.Empty(events);
        string warning = Assert.Single(warnings);
        Assert.Contains(expected, warning, StringComparison.Ordinal);
        Assert.StartsWith("node evil skipped: ", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Upsert_StolenPublicIP_SkippedUntilTheHolderLeaves()
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable();
        peers.Reset(table.Reset([OwnNode(), NodeJson.Node("a", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11"), ["10.244.1.0/24"], created: "2026-12-01T00:00:00Z")]));

        List<PeerEvent> stolen = Apply(peers, table.Upsert(NodeJson.Node("b", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:12"), ["10.244.2.0/24"], rv: 9), 9));
        List<PeerEvent> stolenAgain = Apply(peers, table.Upsert(NodeJson.Node("b", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:12"), ["10.244.2.0/24"], rv: 10), 10));
        List<PeerEvent> afterLeave = Apply(peers, table.Remove("a", 11));

        Assert.Empty(stolen);
        Assert.Empty(stolenAgain);
        Assert.Equal("node b skipped: its public-ip 192.0.2.11 is node a's", Assert.Single(warnings));
        Assert.Equal([PeerEventKind.Removed, PeerEventKind.Added], afterLeave.Select(e => e.Kind));
        Assert.Equal("10.244.2.0-24", afterLeave[1].Lease!.Key);
    }

    [Fact]
    public void Upsert_ThisNodesPublicIP_Skipped()
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable();
        peers.Reset(table.Reset([OwnNode()]));

        List<PeerEvent> events = Apply(peers, table.Upsert(NodeJson.Node("thief", NodeJson.Vxlan("192.0.2.9", "02:00:00:00:00:13"), ["10.244.3.0/24"], created: "2020-01-01T00:00:00Z"), 5));

        Assert.Empty(events);
        Assert.Equal("node thief skipped: its public-ip 192.0.2.9 is node own's", Assert.Single(warnings));
    }

    [Theory]
    [InlineData("10.244.9.0/25", "node n5 skipped: podCIDR 10.244.9.0/25 overlaps this node's 10.244.9.0/24")]
    [InlineData("10.244.0.0/16", "node n5 skipped: podCIDR 10.244.0.0/16 overlaps this node's 10.244.9.0/24")]
    [InlineData("10.1.0.0/24", "node n5 skipped: podCIDR 10.1.0.0/24 is outside Network 10.244.0.0/16")]
    [InlineData("10.244.9.7/24", "node n5 skipped: podCIDR '10.244.9.7/24' has host bits set (did you mean 10.244.9.0/24?)")]
    public void Upsert_HostilePodCidr_SkippedWithOneWarning(string cidr, string expected)
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable();
        peers.Reset(table.Reset([OwnNode()]));

        List<PeerEvent> events = Apply(peers, table.Upsert(NodeJson.Node("n5", NodeJson.Vxlan("192.0.2.15", "02:00:00:00:00:15"), [cidr]), 5));
        events.AddRange(Apply(peers, table.Upsert(NodeJson.Node("n5", NodeJson.Vxlan("192.0.2.15", "02:00:00:00:00:15"), [cidr], rv: 2), 6)));

        Assert.Empty(events);
        Assert.Equal(expected, Assert.Single(warnings));
    }

    [Fact]
    public void Upsert_SamePodCidrAsAnotherNode_OlderNodeKeepsIt()
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable();
        peers.Reset(table.Reset([OwnNode(), NodeJson.Node("old", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11"), ["10.244.1.0/24"], created: "2026-01-01T00:00:00Z")]));

        List<PeerEvent> events = Apply(peers, table.Upsert(NodeJson.Node("new", NodeJson.Vxlan("192.0.2.12", "02:00:00:00:00:12"), ["10.244.1.0/24"], created: "2025-01-01T00:00:00Z"), 5));

        Assert.Empty(events);
        Assert.Equal("node new skipped: its podCIDR 10.244.1.0/24 is node old's", Assert.Single(warnings));
        Assert.Equal("192.0.2.11", Assert.Single(peers.Peers).Attrs.PublicIP.ToString());
    }

    [Fact]
    public void Upsert_ManagedNodeWithoutPodCidr_OneWarning()
    {
        (NodeLeaseTable table, _, List<string> warnings) = NewTable();

        IReadOnlyList<LeaseChange> changes = table.Upsert(NodeJson.Node("n6", NodeJson.Vxlan("192.0.2.16", "02:00:00:00:00:16"), []), 5);

        Assert.Empty(changes);
        Assert.Equal("node n6 skipped: has no IPv4 podCIDR", Assert.Single(warnings));
    }

    [Fact]
    public void Upsert_AnnotationRemoved_DeletesTheRecord()
    {
        (NodeLeaseTable table, PeerSet peers, _) = NewTable();
        peers.Reset(table.Reset([OwnNode(), NodeJson.Node("n1", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11"), ["10.244.1.0/24"])]));

        List<PeerEvent> events = Apply(peers, table.Upsert(NodeJson.Node("n1", null, ["10.244.1.0/24"], rv: 3), 3));

        PeerEvent removed = Assert.Single(events);
        Assert.Equal(PeerEventKind.Removed, removed.Kind);
        Assert.Equal("10.244.1.0-24", removed.Lease!.Key);
    }

    [Fact]
    public void Upsert_CorruptedAfterValid_RemovedThenBackWhenFixed()
    {
        (NodeLeaseTable table, PeerSet peers, List<string> warnings) = NewTable();
        peers.Reset(table.Reset([OwnNode(), NodeJson.Node("n1", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11"), ["10.244.1.0/24"])]));
        Dictionary<string, string> bad = NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11");
        bad[NodeJson.P + "public-ip"] = "";

        List<PeerEvent> broken = Apply(peers, table.Upsert(NodeJson.Node("n1", bad, ["10.244.1.0/24"], rv: 3), 3));
        List<PeerEvent> fixedAgain = Apply(peers, table.Upsert(NodeJson.Node("n1", NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11"), ["10.244.1.0/24"], rv: 4), 4));

        Assert.Equal(PeerEventKind.Removed, Assert.Single(broken).Kind);
        Assert.Equal(PeerEventKind.Added, Assert.Single(fixedAgain).Kind);
        Assert.Single(warnings);
    }

    [Fact]
    public void Reset_DualStack_KeyAndValueAsFlannelsDualStackLease()
    {
        NetworkConfig dual = NetworkConfig.Parse("""{"EnableIPv6":true,"Network":"10.244.0.0/16","IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}""", out _);
        List<string> warnings = [];
        NodeLeaseTable table = new(KubeAnnotations.Default, warnings.Add);
        table.Configure(dual, "own", new LeaseSubnets(IPNetwork.Parse("10.244.9.0/24"), IPNetwork.Parse("fd00:10:244:9::/64")));
        Dictionary<string, string> a = NodeJson.Vxlan("192.0.2.11", "02:00:00:00:00:11", vni: 1);
        a[NodeJson.P + "backend-v6-data"] = """{"VNI":1,"VtepMAC":"02:00:00:00:01:11"}""";
        a[NodeJson.P + "public-ipv6"] = "2001:db8::11";

        IReadOnlyList<LeaseRecord> records = table.Reset([NodeJson.Node("n1", a, ["10.244.1.0/24", "fd00:10:244:1::/64"])]);

        LeaseRecord r = Assert.Single(records);
        Assert.Equal("10.244.1.0-24&fd00:10:244:1::-64", r.Key);
        Assert.Equal("""{"PublicIP":"192.0.2.11","PublicIPv6":"2001:db8::11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:11"},"BackendV6Data":{"VNI":1,"VtepMAC":"02:00:00:00:01:11"}}""", r.Value);
        Assert.Empty(warnings);
    }
}

/// <summary>Runs the memory measurement alone: GC.GetTotalMemory is the process's, and a test running beside it allocates into it.</summary>
[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement;

/// <summary>What the table holds per node: the lease, not the object (the 50 MB target for 5,000 nodes).</summary>
[Collection(nameof(MemoryMeasurement))]
public class NodeLeaseTableMemoryTests
{
    private const int Nodes = 5000;

    [Fact]
    public void Reset_FiveThousandKubeletSizedNodes_HoldsUnderOneKilobyteEach()
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        NodeLeaseTable table = Fill();
        long after = GC.GetTotalMemory(forceFullCollection: true);

        long perNode = (after - before) / Nodes;
        Assert.Equal(Nodes, table.Records().Count);
        Assert.True(perNode < 1024, $"{perNode} bytes held per node");
        GC.KeepAlive(table);
    }

    /// <summary>Parses the nodes (~6 KB of JSON each, 40 images) and drops everything but the table.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static NodeLeaseTable Fill()
    {
        NodeLeaseTable table = new(KubeAnnotations.Default);
        List<NodeSummary> nodes = new(Nodes);
        for (int i = 0; i < Nodes; i++)
        {
            string json = NodeJson.Json($"node-{i}", NodeJson.Vxlan($"198.51.{100 + (i / 256)}.{i % 256}", $"02:00:00:00:{i / 256:x2}:{i % 256:x2}"),
                [$"10.{(i / 256) + 1}.{i % 256}.0/24"], rv: i + 1, images: 40);
            nodes.Add(NodeSummary.Parse(System.Text.Encoding.UTF8.GetBytes(json), NodeJson.P));
        }
        table.Reset(nodes);
        return table;
    }
}
