using System.Text.Json.Nodes;
using Twill.Cni.Conformance.Harness;
using Twill.Testing;

namespace Twill.Cni.Conformance;

/// <summary>portmap chained after bridge (the reference bench's chain): iptables nat state, results, cleanup.</summary>
public sealed class PortmapTests
{
    private static readonly string[] Chain = ["bridge", "host-local", "portmap"];

    /// <summary>Why a chained CHECK is not compared with the reference.</summary>
    public const string PortmapCheckBug = "1.1.1 portmap CHECK also checks ip6tables chains on an IPv4-only pod and fails (fixed upstream in 1.3.0)";

    private sealed record Case(string PortmapExtra, (int, int, string, string?)[] MapsA, string BridgeExtra = """{"isGateway":true}""");

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["tcp"] = new("{}", [(8080, 80, "tcp", null)]),
        ["tcp and udp"] = new("{}", [(8080, 80, "tcp", null), (5353, 53, "udp", null)]),
        ["hostIP"] = new("{}", [(8080, 80, "tcp", "192.0.2.1")]),
        ["snat false"] = new("""{"snat":false}""", [(8080, 80, "tcp", null)]),
        ["masqAll"] = new("""{"masqAll":true}""", [(8080, 80, "tcp", null)]),
        ["markMasqBit"] = new("""{"markMasqBit":14}""", [(8080, 80, "tcp", null)]),
        ["no mappings"] = new("{}", []),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [RootTheory]
    [MemberData(nameof(CaseNames))]
    public void Portmap_Option_MatchesReference(string option) => Oracle.Compare(Chain, run =>
    {
        Case c = Cases[option];
        NetworkList net = NetworkList.FromConflist(Configs.BridgePortmapList(run.Node, "1.0.0", c.BridgeExtra, c.PortmapExtra));
        Attachment a = new("ctr-a", run.Node.Pod("a")) { CapabilityArgs = Configs.PortMappings(c.MapsA) };
        Attachment b = new("ctr-b", run.Node.Pod("b")) { CapabilityArgs = Configs.PortMappings((8081, 80, "tcp", null)) };
        run.Add(net, a);
        run.Add(net, b);
        run.Snapshot("after two ADDs");
        run.CheckFollowingUpstream(net, a, PortmapCheckBug);
        run.Del(net, a);
        run.Snapshot("after DEL a");
        run.Del(net, a, "DEL ctr-a again");
        run.Del(net, b);
        run.Snapshot("after DEL b");
    });

    /// <summary>An IPv6 pod: portmap writes ip6tables rules too.</summary>
    [RootFact]
    public void Portmap_DualStack_MatchesReference() => Oracle.Compare(Chain, run =>
    {
        JsonObject list = JsonNode.Parse(Configs.BridgePortmapList(run.Node, "1.0.0", """{"isGateway":true}"""))!.AsObject();
        list["plugins"]![0]!["ipam"]!["ranges"] = JsonNode.Parse("""[[{"subnet":"10.244.7.0/24"}],[{"subnet":"fd00:10:244:7::/64"}]]""");
        NetworkList net = NetworkList.FromConflist(list.ToJsonString());
        Attachment a = new("ctr-a", run.Node.Pod("a")) { CapabilityArgs = Configs.PortMappings((8080, 80, "tcp", null)) };
        run.Add(net, a);
        run.Snapshot("after ADD");
        run.CheckFollowingUpstream(net, a, PortmapCheckBug);
        run.Del(net, a);
        run.Snapshot("after DEL");
    });

    /// <summary>Rules the reference left are removed by ours and vice versa (same chain names: CNI-DN-&lt;hash&gt;).</summary>
    [RootFact]
    public void Portmap_AddByReferenceDelByOurs_LeavesNoRule()
    {
        PluginDirs.EnsurePresent(PluginSet.Ours, Chain);
        Oracle.Single(PluginSet.Reference, Chain, run =>
        {
            NetworkList net = NetworkList.FromConflist(Configs.BridgePortmapList(run.Node));
            Attachment a = new("ctr-a", run.Node.Pod("a")) { CapabilityArgs = Configs.PortMappings((8080, 80, "tcp", null)) };
            Libcni.Add(run.Node, net, a).EnsureSuccess("reference ADD");
            string before = string.Join('\n', StateProbe.Node(run.Node, run.Norm));
            Assert.Contains("CNI-DN-", before, StringComparison.Ordinal);
            JsonObject pm = JsonNode.Parse(Libcni.BuildConfig(net, net.Plugins[1]!.AsObject(), a.Cached, a.CapabilityArgs))!.AsObject();
            CniOutcome del = CniExec.Run(PluginDirs.Ours, "portmap", new CniRequest { Command = "DEL", ContainerId = "ctr-a", Netns = a.NetnsPath, Config = pm.ToJsonString() }, run.Node.Ns.Name);
            Assert.True(del.Ok, $"our portmap DEL of the reference's rules: {del}");
            string after = string.Join('\n', StateProbe.Node(run.Node, run.Norm));
            Assert.DoesNotContain("CNI-DN-", after, StringComparison.Ordinal);
            Assert.DoesNotContain("dport 8080", after, StringComparison.Ordinal);
        });
    }
}
