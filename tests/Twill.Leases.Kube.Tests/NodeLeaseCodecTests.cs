using System.Net;
using System.Net.NetworkInformation;
using System.Text;

namespace Twill.Leases.Kube.Tests;

public class NodeLeaseCodecTests
{
    private static readonly NodeLeaseCodec V4 = new(KubeAnnotations.Default, enableIPv4: true, enableIPv6: false);

    private static NodeSummary Bare(Dictionary<string, string>? annotations = null) => NodeJson.Node("n1", annotations, ["10.244.1.0/24"]);

    [Fact]
    public void OwnAnnotations_Vxlan_AreFlannelsByteForByte()
    {
        LeaseAttrs attrs = LeaseAttrs.ForVxlan(IPAddress.Parse("192.0.2.11"), new VxlanLeaseData(4096, PhysicalAddress.Parse("12-C6-65-89-B4-E3")));

        string patch = NodeLeaseCodec.AnnotationPatch(V4.OwnAnnotations(attrs, Bare()));

        // The values are exactly those of the fixture node.linux-vxlan.json.
        NodeSummary fixture = NodeJson.FixtureNode("node.linux-vxlan.json");
        Assert.True(NodeLeaseCodec.HasAll(fixture, V4.OwnAnnotations(attrs, Bare())));
        Assert.Equal(
            """{"metadata":{"annotations":{"flannel.alpha.coreos.com/backend-data":"{\u0022VNI\u0022:4096,\u0022VtepMAC\u0022:\u002212:c6:65:89:b4:e3\u0022}","flannel.alpha.coreos.com/backend-type":"vxlan","flannel.alpha.coreos.com/kube-subnet-manager":"true","flannel.alpha.coreos.com/public-ip":"192.0.2.11"}}}""",
            patch);
    }

    [Fact]
    public void OwnAnnotations_HostGw_BackendDataIsTheStringNull()
    {
        IReadOnlyList<KeyValuePair<string, string>> a = V4.OwnAnnotations(LeaseAttrs.ForHostGw(IPAddress.Parse("192.0.2.13")), Bare());

        Assert.True(NodeLeaseCodec.HasAll(NodeJson.FixtureNode("node.linux-host-gw.json"), a));
        Assert.Equal("null", a.Single(kv => kv.Key == NodeJson.P + "backend-data").Value);
    }

    [Fact]
    public void OwnAnnotations_PublicIPOverwrite_PublishedInsteadOfTheDetectedAddress()
    {
        NodeSummary node = Bare(new() { [NodeJson.P + "public-ip-overwrite"] = "203.0.113.7" });

        IReadOnlyList<KeyValuePair<string, string>> a = V4.OwnAnnotations(LeaseAttrs.ForHostGw(IPAddress.Parse("192.0.2.13")), node);

        Assert.Equal("203.0.113.7", a.Single(kv => kv.Key == NodeJson.P + "public-ip").Value);
    }

    [Fact]
    public void OwnAnnotations_DualStackVxlan_AddsV6DataAndAddress()
    {
        NodeLeaseCodec dual = new(KubeAnnotations.Default, true, true);
        LeaseAttrs attrs = LeaseAttrs.ForVxlan(IPAddress.Parse("192.0.2.11"), new VxlanLeaseData(1, PhysicalAddress.Parse("02-00-00-00-00-11")),
            IPAddress.Parse("2001:db8::11"), new VxlanLeaseData(1, PhysicalAddress.Parse("02-00-00-00-01-11")));

        Dictionary<string, string> a = dual.OwnAnnotations(attrs, Bare()).ToDictionary();

        Assert.Equal("""{"VNI":1,"VtepMAC":"02:00:00:00:01:11"}""", a[NodeJson.P + "backend-v6-data"]);
        Assert.Equal("2001:db8::11", a[NodeJson.P + "public-ipv6"]);
        Assert.Equal(6, a.Count);
    }

    [Fact]
    public void NetworkAvailablePatch_IsFlannelsCondition()
    {
        string patch = NodeLeaseCodec.NetworkAvailablePatch(new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero));

        Assert.Equal(
            """{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","lastHeartbeatTime":"2026-12-07T10:00:00Z","lastTransitionTime":"2026-12-07T10:00:00Z","reason":"FlannelIsUp","message":"Flannel is running on this node"}]}}""",
            patch);
    }

    [Fact]
    public void PublishedVxlanData_OwnBackendData_GivesTheMacToReuse()
    {
        VxlanLeaseData? data = V4.PublishedVxlanData(NodeJson.FixtureNode("node.linux-vxlan.json"), System.Net.Sockets.AddressFamily.InterNetwork);

        Assert.Equal("12:c6:65:89:b4:e3", data!.VtepMacText);
    }

    [Fact]
    public void TryNodePublicIP_BadValue_ErrorNamesTheAnnotation()
    {
        bool ok = V4.TryNodePublicIP(Bare(new() { [NodeJson.P + "node-public-ip"] = "192.0.2" }), System.Net.Sockets.AddressFamily.InterNetwork, out _, out string? error);

        Assert.False(ok);
        Assert.Equal("node n1: annotation flannel.alpha.coreos.com/node-public-ip '192.0.2' is not an IPv4 address", error);
    }

    [Theory]
    [InlineData(new string[0], null, null)]
    [InlineData(new[] { "10.244.1.0/24" }, "10.244.1.0/24", null)]
    [InlineData(new[] { "fd00::/64", "10.244.1.0/24" }, "10.244.1.0/24", "fd00::/64")]
    public void TryReadPodCidrs_OnePerFamily(string[] cidrs, string? v4, string? v6)
    {
        Assert.True(NodeLeaseCodec.TryReadPodCidrs(NodeJson.Node("n1", null, cidrs), out IPNetwork? a, out IPNetwork? b, out _));
        Assert.Equal(v4, a?.ToString());
        Assert.Equal(v6, b?.ToString());
    }

    [Fact]
    public void TryReadPodCidrs_ThreeCidrs_Error()
    {
        Assert.False(NodeLeaseCodec.TryReadPodCidrs(NodeJson.Node("n1", null, ["10.244.1.0/24", "fd00::/64", "10.244.2.0/24"]), out _, out _, out string? error));
        Assert.Equal("node n1: spec.podCIDRs has 3 entries; at most one IPv4 and one IPv6 CIDR are allowed", error);
    }
}

public class NodeWireFormatTests
{
    [Fact]
    public void ParseList_KeepsOnlyPrefixAnnotationsAndPodCidrs_SkipsStatus()
    {
        string items = string.Join(",", NodeJson.Json("a", NodeJson.Vxlan("192.0.2.1", "02:00:00:00:00:01"), ["10.244.1.0/24"], rv: 41, images: 40),
            NodeJson.Json("b", null, ["10.244.2.0/24"], rv: 42));
        string list = $$"""{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"99","continue":"tok"},"items":[{{items}}]}""";

        NodePage page = KubeApi.ParseList(Encoding.UTF8.GetBytes(list), NodeJson.P);

        Assert.Equal(99, page.ResourceVersion);
        Assert.Equal("tok", page.Continue);
        Assert.Equal(["a", "b"], page.Nodes.Select(n => n.Name));
        Assert.Equal(4, page.Nodes[0].Annotations.Count); // node.alpha.kubernetes.io/ttl is not Flannel's
        Assert.Equal(41, page.Nodes[0].ResourceVersion);
        Assert.Equal(["10.244.1.0/24"], page.Nodes[0].PodCIDRs);
        Assert.Empty(page.Nodes[1].Annotations);
    }

    [Fact]
    public void ParseEvent_AddedBookmarkAndGone()
    {
        NodeEvent added = KubeApi.ParseEvent(Encoding.UTF8.GetBytes($$"""{"type":"ADDED","object":{{NodeJson.Json("a", null, ["10.244.1.0/24"], rv: 7)}}}"""), NodeJson.P);
        NodeEvent bookmark = KubeApi.ParseEvent("""{"type":"BOOKMARK","object":{"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":"12","annotations":{"k8s.io/initial-events-end":"true"}}}}"""u8, NodeJson.P);
        NodeEvent gone = KubeApi.ParseEvent("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (90)","reason":"Expired","code":410}}"""u8, NodeJson.P);

        Assert.Equal((NodeEventType.Added, "a", 7L), (added.Type, added.Node!.Name, added.ResourceVersion));
        Assert.Equal((NodeEventType.Bookmark, 12L), (bookmark.Type, bookmark.ResourceVersion));
        Assert.Null(bookmark.Node);
        Assert.Equal((NodeEventType.Error, 410, "too old resource version: 5 (90)"), (gone.Type, gone.ErrorCode, gone.ErrorMessage));
    }

    [Fact]
    public void ParseEvent_UnknownType_IsAnError()
    {
        Assert.Throws<System.Text.Json.JsonException>(() => KubeApi.ParseEvent("""{"type":"WHAT","object":{}}"""u8, NodeJson.P));
    }
}

public class KubeAnnotationsTests
{
    [Theory]
    [InlineData("flannel.alpha.coreos.com", "flannel.alpha.coreos.com/kube-subnet-manager")]
    [InlineData("example.com/", "example.com/kube-subnet-manager")]
    [InlineData("example.com/net", "example.com/net-kube-subnet-manager")]
    [InlineData("example.com/net-", "example.com/net-kube-subnet-manager")]
    public void Create_NormalisesAsFlannel(string prefix, string expected) =>
        Assert.Equal(expected, KubeAnnotations.Create(prefix).KubeSubnetManager);

    [Theory]
    [InlineData("a/b/c")]
    [InlineData("nodots")]
    [InlineData("Example.com")]
    public void Create_BadPrefix_ErrorNamesIt(string prefix)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => KubeAnnotations.Create(prefix));
        Assert.Contains($"--kube-annotation-prefix '{prefix}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithEnvironment_NodeFromEnvironment_FlagsWin()
    {
        Dictionary<string, string> env = new() { ["NODE_NAME"] = "n1", ["POD_NAME"] = "kube-flannel-ds-x", ["POD_NAMESPACE"] = "kube-flannel" };

        KubeStoreOptions o = new KubeStoreOptions().WithEnvironment(k => env.GetValueOrDefault(k));
        KubeStoreOptions explicitNode = new KubeStoreOptions { NodeName = "given" }.WithEnvironment(k => env.GetValueOrDefault(k));

        Assert.Equal(("n1", "kube-flannel-ds-x", "kube-flannel"), (o.NodeName, o.PodName, o.PodNamespace));
        Assert.Equal("given", explicitNode.NodeName);
    }
}
