using Twill.Cni.Conformance.Harness;
using Twill.Testing;

namespace Twill.Cni.Conformance;

/// <summary>Every option of the reference bridge plugin 1.1.1, each compared in kernel effects and results.</summary>
public sealed class BridgeTests
{
    private static readonly string[] BridgeIpam = ["bridge", "host-local"];

    private const string V4 = """{"ranges":[[{"subnet":"10.244.7.0/24"}]]}""";
    private const string V6 = """{"ranges":[[{"subnet":"fd00:10:244:7::/64"}]]}""";
    private const string Dual = """{"ranges":[[{"subnet":"10.244.7.0/24"}],[{"subnet":"fd00:10:244:7::/64"}]]}""";

    /// <summary>An option case: bridge keys merged into the config, the IPAM section, and what exists on the node before.</summary>
    private sealed record Case(string Extra, string Ipam = V4, string[][]? Before = null, string? KernelMayRefuse = null);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["defaults"] = new("{}"),
        ["bridge name"] = new("""{"bridge":"br-conf"}"""),
        ["isGateway"] = new("""{"isGateway":true}"""),
        ["isDefaultGateway"] = new("""{"isDefaultGateway":true}"""),
        ["ipMasq"] = new("""{"isGateway":true,"ipMasq":true}"""),
        ["mtu"] = new("""{"isGateway":true,"mtu":1400}"""),
        ["hairpinMode"] = new("""{"isGateway":true,"hairpinMode":true}"""),
        ["promiscMode"] = new("""{"isGateway":true,"promiscMode":true}"""),
        // This machine's kernel has no bridge VLAN filtering: the reference's ADD fails (999,
        // "operation not supported"); ours must refuse too, with any code, and leave nothing behind.
        ["vlan"] = new("""{"vlan":100}""", KernelMayRefuse: "the kernel has no bridge VLAN filtering (/sys/class/net/<br>/bridge/vlan_filtering)"),
        ["macspoofchk"] = new("""{"isGateway":true,"macspoofchk":true}"""),
        ["enabledad ipv6"] = new("""{"isGateway":true,"enabledad":true}""", V6),
        ["ipv6 default gateway"] = new("""{"isDefaultGateway":true}""", V6),
        ["dual stack"] = new("""{"isGateway":true,"isDefaultGateway":true,"ipMasq":true}""", Dual),
        ["existing bridge"] = new("""{"isGateway":true}""", V4, [["link", "add", "cni0", "type", "bridge"], ["link", "set", "cni0", "up"]]),
        ["forceAddress true"] = new("""{"isGateway":true,"forceAddress":true}""", V4,
            [["link", "add", "cni0", "type", "bridge"], ["addr", "add", "10.244.7.99/24", "dev", "cni0"]]),
        ["forceAddress false"] = new("""{"isGateway":true,"forceAddress":false}""", V4,
            [["link", "add", "cni0", "type", "bridge"], ["addr", "add", "10.244.7.99/24", "dev", "cni0"]]),
        ["ipMasq ipam gateway"] = new("""{"isGateway":true,"ipMasq":true}""", """{"ranges":[[{"subnet":"10.244.7.0/24","gateway":"10.244.7.254"}]]}"""),
    };

    /// <summary>Why CHECK after a second ADD is not compared with the reference.</summary>
    public const string BridgeMacChanges = "1.1.1 compares the bridge MAC it printed at ADD, which the kernel re-picks when a port with a lower MAC joins; the spec expects CHECK to pass";

    private static bool VlanFilteringSupported(Node node) =>
        node.Ns.Exec("ip", "link", "add", "vlanprobe0", "type", "bridge", "vlan_filtering", "1").ExitCode == 0
        && node.Ns.Exec("ip", "link", "del", "vlanprobe0").ExitCode == 0;

    /// <summary>Records only that the ADD was refused: the code is the kernel's doing, not the plugin's.</summary>
    private static CniOutcome Refused(Run run, CniOutcome o, string why)
    {
        run.Note(o.Ok ? "ADD ctr-a: ok (expected a refusal: " + why + ")" : "ADD ctr-a: refused (" + why + ")");
        return o;
    }

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [RootTheory]
    [MemberData(nameof(CaseNames))]
    public void Bridge_Option_MatchesReference(string option) => Oracle.Compare(BridgeIpam, run =>
    {
        Case c = Cases[option];
        foreach (string[] cmd in c.Before ?? [])
        {
            run.Node.Ns.Ip(cmd);
        }
        NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, "1.0.0", c.Extra, c.Ipam));
        Attachment a = new("ctr-a", run.Node.Pod("a"));
        Attachment b = new("ctr-b", run.Node.Pod("b"));
        CniOutcome first = c.KernelMayRefuse is not null && !VlanFilteringSupported(run.Node)
            ? Refused(run, Libcni.Add(run.Node, net, a), c.KernelMayRefuse)
            : run.Add(net, a);
        if (!first.Ok)
        {
            run.Snapshot("after refused ADD");
            return;
        }
        run.Check(net, a);
        run.Add(net, b);
        run.Snapshot("after two ADDs");
        run.CheckFollowingUpstream(net, a, BridgeMacChanges);
        run.Del(net, a);
        run.Snapshot("after DEL a");
        run.Del(net, b);
        run.Snapshot("after DEL b");
    });

    // ---- macspoofchk: interplay with the reference and the effect on frames ---------------------

    private const string SpoofCheck = """{"isGateway":true,"macspoofchk":true}""";

    public static TheoryData<PluginSet, PluginSet> AdderDeleter() => new()
    {
        { PluginSet.Reference, PluginSet.Ours },
        { PluginSet.Ours, PluginSet.Reference },
    };

    /// <summary>The node's nft bridge tables as text (empty when there is none).</summary>
    private static string NftBridge(Node node) =>
        string.Join('\n', StateProbe.Node(node, new Normalizer(node)).Where(l => l.StartsWith("nft ", StringComparison.Ordinal)));

    /// <summary>
    /// The same names, layout and comments on both sides: one implementation's DEL removes what the
    /// other's ADD installed (the table and the shared PREROUTING base chain stay, as the reference leaves them).
    /// </summary>
    [RootTheory]
    [MemberData(nameof(AdderDeleter))]
    public void Bridge_MacSpoofChkAddedByOneDeletedByOther_LeavesNoRule(PluginSet adder, PluginSet deleter)
    {
        PluginDirs.EnsurePresent(PluginSet.Ours, BridgeIpam);
        Oracle.Single(adder, BridgeIpam, run =>
        {
            NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, "1.0.0", SpoofCheck));
            Attachment a = new("ctr-a", run.Node.Pod("a"));
            Attachment b = new("ctr-b", run.Node.Pod("b"));
            Libcni.Add(run.Node, net, a).EnsureSuccess($"{adder} ADD ctr-a");
            Libcni.Add(run.Node, net, b).EnsureSuccess($"{adder} ADD ctr-b");
            string before = NftBridge(run.Node);
            Assert.Contains("jump cni-br-iface-ctr-a-eth0 comment \"macspoofchk-ctr-a-eth0\"", before, StringComparison.Ordinal);
            Assert.Contains("drop comment \"macspoofchk-ctr-a-eth0\"", before, StringComparison.Ordinal);

            CniRequest del = new() { Command = "DEL", ContainerId = "ctr-a", Netns = a.NetnsPath, Config = Libcni.BuildConfig(net, net.Plugins[0]!.AsObject(), a.Cached, null) };
            CniOutcome o = CniExec.Run(PluginDirs.For(deleter), "bridge", del, run.Node.Ns.Name);
            Assert.True(o.Ok, $"{deleter} DEL of what {adder} added: {o}");
            // The reference reports teardown problems on stderr only, and still succeeds.
            Assert.DoesNotContain("spoof", o.Stderr, StringComparison.OrdinalIgnoreCase);
            string after = NftBridge(run.Node);
            Assert.DoesNotContain("ctr-a", after, StringComparison.Ordinal);
            Assert.Contains("jump cni-br-iface-ctr-b-eth0 comment \"macspoofchk-ctr-b-eth0\"", after, StringComparison.Ordinal);
            Assert.Contains("type filter hook prerouting priority dstnat; policy accept;", after, StringComparison.Ordinal);

            // A second DEL finds nothing and succeeds (the reference says so on stderr) and changes nothing.
            CniOutcome again = CniExec.Run(PluginDirs.For(deleter), "bridge", del, run.Node.Ns.Name);
            Assert.True(again.Ok, $"{deleter} repeated DEL: {again}");
            Assert.Equal(after, NftBridge(run.Node));
        });
    }

    /// <summary>
    /// IPAM fails after the rules are in (a range with no free address): the failed ADD takes them out
    /// again, as the reference does. Only the verdict and the nft tables are compared: after a failed
    /// ADD the two leave the pod's link in different states (ours up, the reference's down).
    /// </summary>
    [RootFact]
    public void Bridge_MacSpoofChkIpamFails_RulesRemovedAsReference() => Oracle.Compare(BridgeIpam, run =>
    {
        NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, "1.0.0", SpoofCheck,
            """{"ranges":[[{"subnet":"10.244.7.0/30","rangeStart":"10.244.7.1","rangeEnd":"10.244.7.1"}]]}"""));
        CniOutcome o = Libcni.Add(run.Node, net, new Attachment("ctr-a", run.Node.Pod("a")));
        run.Note(o.Ok ? "ADD ctr-a: ok (expected the IPAM to fail)" : "ADD ctr-a: refused");
        run.Note($"    ~ {run.Norm.Text(o.ErrorMessage)}");
        foreach (string line in NftBridge(run.Node).Split('\n'))
        {
            run.Note(line);
        }
    });

    /// <summary>
    /// DEL with the pod's namespace already gone still removes the rules (found by container id and
    /// ifname); the reference 1.1.1 returns early there and leaks them.
    /// </summary>
    [RootFact]
    public void Bridge_MacSpoofChkDelAfterNetnsGone_LeavesNoRule() => Oracle.Single(PluginSet.Ours, BridgeIpam, run =>
    {
        NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, "1.0.0", SpoofCheck));
        Pod pod = run.Node.Pod("a");
        Attachment a = new("ctr-a", pod);
        Libcni.Add(run.Node, net, a).EnsureSuccess("ADD ctr-a");
        pod.Delete();
        Libcni.Del(run.Node, net, a).EnsureSuccess("DEL ctr-a (netns gone)");
        Assert.DoesNotContain("ctr-a", NftBridge(run.Node), StringComparison.Ordinal);
    });

    /// <summary>
    /// The rules do what they are for: with the pod's own MAC its ping to the gateway passes; with
    /// another MAC set inside the pod the bridge drops its frames; back to its MAC it passes again.
    /// Run against both implementations, so the test itself is held to the reference.
    /// </summary>
    [RootTheory]
    [InlineData(PluginSet.Reference)]
    [InlineData(PluginSet.Ours)]
    public void Bridge_MacSpoofChk_BlocksSpoofedSourceMac(PluginSet set) => Oracle.Single(set, BridgeIpam, run =>
    {
        (bool own, bool spoofed, bool back) = PingWithSpoofedMac(run, SpoofCheck);
        Assert.True(own, $"{set}: the pod with its own MAC must reach its gateway");
        Assert.False(spoofed, $"{set}: frames from the spoofed MAC {SpoofedMac} must be dropped");
        Assert.True(back, $"{set}: back to its own MAC, the pod must reach its gateway again");
    });

    /// <summary>The control: without macspoofchk the same spoofed ping passes, so the drop above is the rules' doing.</summary>
    [RootFact]
    public void Bridge_NoMacSpoofChk_SpoofedSourceMacPasses() => Oracle.Single(PluginSet.Ours, BridgeIpam, run =>
    {
        (bool own, bool spoofed, bool back) = PingWithSpoofedMac(run, """{"isGateway":true}""");
        Assert.True(own && spoofed && back, $"without macspoofchk every ping must pass: own={own} spoofed={spoofed} back={back}");
    });

    private const string SpoofedMac = "02:00:5e:00:53:99";

    /// <summary>
    /// ADD one pod, then ping the gateway with the pod's MAC, with <see cref="SpoofedMac"/>, and with
    /// its MAC again. The node forgets the pod's MAC before each ping, so it asks again (ARP) and the
    /// answer, not a stale cache, decides where the reply goes.
    /// </summary>
    private static (bool Own, bool Spoofed, bool Back) PingWithSpoofedMac(Run run, string extra)
    {
        NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, "1.0.0", extra));
        Pod pod = run.Node.Pod("a");
        Libcni.Add(run.Node, net, new Attachment("ctr-a", pod)).EnsureSuccess("ADD ctr-a");
        string mac = pod.Ns.IpJson("link", "show", "eth0")[0].GetProperty("address").GetString()!;
        bool Ping(int count)
        {
            run.Node.Ns.Ip("neigh", "flush", "dev", "cni0");
            return pod.Ns.Exec("ping", "-n", "-q", "-c", $"{count}", "-W", "1", "10.244.7.1").ExitCode == 0;
        }
        bool own = Ping(3);
        pod.Ns.Ip("link", "set", "eth0", "address", SpoofedMac);
        bool spoofed = Ping(2);
        pod.Ns.Ip("link", "set", "eth0", "address", mac);
        bool back = Ping(3);
        return (own, spoofed, back);
    }
}
