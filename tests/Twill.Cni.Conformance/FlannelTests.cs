using System.Text.Json.Nodes;
using Twill.Cni.Conformance.Harness;
using Twill.Testing;

namespace Twill.Cni.Conformance;

/// <summary>
/// The flannel meta-plugin. The reference flannel plugin is not in Debian's package (it lives in
/// flannel-io/cni-plugin), so ours is held to it in two steps: the delegate it saves must be the one
/// Flannel's plugin derives (rules of flannel_linux.go: name, type bridge, ipMasq = !FLANNEL_IPMASQ,
/// mtu, isGateway, host-local ranges and a route to the network, the delegate's own keys winning),
/// and the node's state must be what the reference bridge makes from that delegate.
/// </summary>
public sealed class FlannelTests
{
    private static readonly string[] Ours = ["flannel", "bridge", "host-local"];
    private static readonly string[] Reference = ["bridge", "host-local"];

    private static readonly string FixtureDir = Path.Combine("/work/shared/fixtures/flannel");

    /// <summary>A case: subnet.env, the flannel config's delegate (and top-level ipam), the delegate Flannel derives.</summary>
    private sealed record Case(string SubnetEnv, string Delegate, string Expected, string Ipam = "{}");

    private const string FixtureEnv = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // The seed's delegate and the golden delegate of the fixtures.
        ["seed"] = new(FixtureEnv, """{"hairpinMode":true,"isDefaultGateway":true}""", "FIXTURE"),
        ["ipmasq false"] = new(FixtureEnv.Replace("FLANNEL_IPMASQ=true", "FLANNEL_IPMASQ=false", StringComparison.Ordinal), "{}",
            """{"cniVersion":"1.0.0","name":"vxlan0","type":"bridge","ipMasq":true,"isGateway":true,"mtu":1450,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.3.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}]}}"""),
        ["delegate overrides"] = new(FixtureEnv, """{"bridge":"cni1","mtu":1400,"isGateway":false,"ipMasq":true}""",
            """{"cniVersion":"1.0.0","name":"vxlan0","type":"bridge","bridge":"cni1","ipMasq":true,"isGateway":false,"mtu":1400,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.3.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}]}}"""),
        ["ipam routes kept"] = new(FixtureEnv, """{"isDefaultGateway":true}""",
            """{"cniVersion":"1.0.0","name":"vxlan0","type":"bridge","ipMasq":false,"isGateway":true,"isDefaultGateway":true,"mtu":1450,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.3.0/24"}]],"routes":[{"dst":"192.0.2.0/24"},{"dst":"10.244.0.0/16"}]}}""",
            """{"routes":[{"dst":"192.0.2.0/24"}]}"""),
        ["dual stack"] = new(FixtureEnv + "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\n", """{"hairpinMode":true}""",
            """{"cniVersion":"1.0.0","name":"vxlan0","type":"bridge","hairpinMode":true,"ipMasq":false,"isGateway":true,"mtu":1450,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.3.0/24"}],[{"subnet":"fd00:10:244:3::/64"}]],"routes":[{"dst":"10.244.0.0/16"},{"dst":"fd00:10:244::/56"}]}}"""),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    /// <summary>The flannel plugin config as a conflist entry: the seed's, plus the paths that keep it off the machine's /run and /var/lib.</summary>
    private static string FlannelConf(Node node, Case c)
    {
        JsonObject ipam = JsonNode.Parse(c.Ipam)!.AsObject();
        ipam["dataDir"] = node.IpamDir;
        return new JsonObject
        {
            ["cniVersion"] = "1.0.0",
            ["name"] = "vxlan0",
            ["type"] = "flannel",
            ["subnetFile"] = node.SubnetFile,
            ["dataDir"] = node.FlannelDir,
            ["ipam"] = ipam,
            ["delegate"] = JsonNode.Parse(c.Delegate),
        }.ToJsonString();
    }

    /// <summary>The delegate expected for this node: the case's (or the golden fixture), host-local pointed at the node's data dir.</summary>
    private static JsonObject ExpectedDelegate(Node node, Case c)
    {
        string text = c.Expected == "FIXTURE" ? File.ReadAllText(Path.Combine(FixtureDir, "cni-delegate.linux.json")) : c.Expected;
        JsonObject d = JsonNode.Parse(text)!.AsObject();
        d["ipam"]!["dataDir"] = node.IpamDir;
        return d;
    }

    [RootTheory]
    [MemberData(nameof(CaseNames))]
    public void Flannel_SavedDelegate_IsFlannelsDerivation(string name)
    {
        Case c = Cases[name];
        Oracle.Single(PluginSet.Ours, Ours, run =>
        {
            File.WriteAllText(run.Node.SubnetFile, c.SubnetEnv);
            NetworkList net = NetworkList.Single(FlannelConf(run.Node, c));
            Attachment a = new("ctr-a", run.Node.Pod("a"));
            Libcni.Add(run.Node, net, a).EnsureSuccess("flannel ADD");
            string saved = Path.Combine(run.Node.FlannelDir, "ctr-a");
            Assert.True(File.Exists(saved), $"flannel did not save its delegate at {saved} (DEL needs it)");
            Assert.Equal(Normalizer.Canonical(ExpectedDelegate(run.Node, c)), Normalizer.Canonical(JsonNode.Parse(File.ReadAllText(saved))!));
            Libcni.Del(run.Node, net, a).EnsureSuccess("flannel DEL");
            Assert.False(File.Exists(saved), "flannel DEL left the saved delegate behind");
        });
    }

    /// <summary>ours: flannel → bridge → host-local; reference: bridge → host-local with the delegate Flannel derives.</summary>
    [RootTheory]
    [MemberData(nameof(CaseNames))]
    public void Flannel_NodeState_MatchesReferenceBridgeWithDerivedDelegate(string name) => Oracle.Compare(Ours, Reference, run =>
    {
        Case c = Cases[name];
        File.WriteAllText(run.Node.SubnetFile, c.SubnetEnv);
        NetworkList net = NetworkList.Single(run.IsReference ? ExpectedDelegate(run.Node, c).ToJsonString() : FlannelConf(run.Node, c));
        Attachment a = new("ctr-a", run.Node.Pod("a"));
        Attachment b = new("ctr-b", run.Node.Pod("b"));
        run.Add(net, a);
        run.Add(net, b);
        run.Snapshot("after two ADDs");
        run.CheckFollowingUpstream(net, a, "1.1.1 bridge CHECK fails on routes without a gateway (the route to the whole network), fixed upstream in 1.3.0");
        run.Del(net, a);
        run.Del(net, a, "DEL ctr-a again");
        run.Del(net, new Attachment("ctr-never", run.Node.Pod("n")), "DEL never added");
        run.Snapshot("after DEL a");
        run.Del(net, b);
        run.Snapshot("after DEL b");
    });

    [RootFact]
    public void Flannel_MissingSubnetEnv_FailsNamingFileAndAgent()
    {
        Oracle.Single(PluginSet.Ours, Ours, run =>
        {
            NetworkList net = NetworkList.Single(FlannelConf(run.Node, Cases["seed"]));
            CniOutcome o = Libcni.Add(run.Node, net, new Attachment("ctr-a", run.Node.Pod("a")));
            Assert.False(o.Ok, $"flannel ADD without subnet.env succeeded: {o}");
            Assert.NotNull(o.ErrorCode);
            Assert.Contains(run.Node.SubnetFile, o.ErrorMessage, StringComparison.Ordinal);
            Assert.Contains("agent", o.ErrorMessage, StringComparison.OrdinalIgnoreCase);
        });
    }

    [RootFact]
    public void Flannel_SubnetEnvMissingKey_FailsNamingTheKey()
    {
        Oracle.Single(PluginSet.Ours, Ours, run =>
        {
            File.WriteAllText(run.Node.SubnetFile, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
            NetworkList net = NetworkList.Single(FlannelConf(run.Node, Cases["seed"]));
            CniOutcome o = Libcni.Add(run.Node, net, new Attachment("ctr-a", run.Node.Pod("a")));
            Assert.False(o.Ok, $"flannel ADD with no FLANNEL_SUBNET succeeded: {o}");
            Assert.Contains("FLANNEL_SUBNET", o.ErrorMessage, StringComparison.Ordinal);
        });
    }
}
