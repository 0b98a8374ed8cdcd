using System.Text.Json.Nodes;
using Twill.Cni.Conformance.Harness;
using Twill.Testing;

namespace Twill.Cni.Conformance;

/// <summary>The CNI protocol itself: VERSION, the lifecycle at every version, environment and config errors, 1.1.0.</summary>
public sealed class ProtocolTests
{
    private static readonly string[] BridgeIpam = ["bridge", "host-local"];

    public static TheoryData<string> Types() => ["bridge", "host-local", "portmap", "loopback", "flannel"];

    public static TheoryData<string> ReferenceTypes() => ["bridge", "host-local", "portmap", "loopback"];

    [RootTheory]
    [MemberData(nameof(Types))]
    public void Version_EveryConfigVersion_SupportsReferenceVersionsAnd110(string type)
    {
        PluginDirs.EnsurePresent(PluginSet.Ours, type);
        string[] required = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
        foreach (string asked in required)
        {
            CniOutcome o = CniExec.Run(PluginDirs.Ours, type, new CniRequest { Command = "VERSION", Config = $$"""{"cniVersion":"{{asked}}"}""", IfName = null }, null);
            Assert.True(o.Ok, $"{type} VERSION for cniVersion {asked}: {o}");
            JsonObject v = o.Json?.AsObject() ?? throw new InvalidOperationException($"{type} VERSION printed no JSON: {o}");
            string[] supported = [.. v["supportedVersions"]!.AsArray().Select(x => (string)x!)];
            Assert.All(required, r => Assert.Contains(r, supported));
            Assert.Contains((string)v["cniVersion"]!, supported);
        }
        if (type != "flannel")
        {
            // Every version the reference accepts from 0.3.0 on, ours accepts too.
            CniOutcome r = CniExec.Run(PluginDirs.Reference, type, new CniRequest { Command = "VERSION", Config = """{"cniVersion":"1.0.0"}""", IfName = null }, null);
            CniOutcome o = CniExec.Run(PluginDirs.Ours, type, new CniRequest { Command = "VERSION", Config = """{"cniVersion":"1.0.0"}""", IfName = null }, null);
            string[] refVersions = [.. r.Json!["supportedVersions"]!.AsArray().Select(x => (string)x!).Where(x => string.CompareOrdinal(x, "0.3.0") >= 0)];
            string[] ours = [.. o.Json!["supportedVersions"]!.AsArray().Select(x => (string)x!)];
            Assert.All(refVersions, x => Assert.Contains(x, ours));
        }
    }

    /// <summary>ADD two pods, CHECK, DEL, DEL again, DEL of a container never added, at each version.</summary>
    [RootTheory]
    [MemberData(nameof(Configs.VersionData), MemberType = typeof(Configs))]
    public void Lifecycle_BridgeHostLocalAtVersion_MatchesReference(string version) => Oracle.Compare(BridgeIpam, run =>
    {
        NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, version, """{"isGateway":true}"""));
        Attachment a = new("ctr-a", run.Node.Pod("a"));
        Attachment b = new("ctr-b", run.Node.Pod("b"));
        Attachment never = new("ctr-never", run.Node.Pod("n"));
        run.Add(net, a);
        run.Add(net, b);
        run.Snapshot("after two ADDs");
        run.Check(net, a); // 0.3.x: both must refuse with code 1 ("config version does not allow CHECK")
        run.Del(net, a);
        run.Snapshot("after DEL a");
        run.Del(net, a, "DEL ctr-a again");
        run.Del(net, never, "DEL never added");
        run.Del(net, b);
        run.Snapshot("after all DELs");
    });

    /// <summary>loopback brings lo up on ADD and down on DEL; DEL of a gone namespace succeeds.</summary>
    [RootTheory]
    [MemberData(nameof(Configs.VersionData), MemberType = typeof(Configs))]
    public void Loopback_AddCheckDel_MatchesReference(string version) => Oracle.Compare(["loopback"], run =>
    {
        NetworkList net = NetworkList.Single($$"""{"cniVersion":"{{version}}","name":"lo","type":"loopback"}""");
        Pod pod = run.Node.Pod("a");
        pod.Ns.Ip("link", "set", "lo", "down");
        Attachment a = new("ctr-a", pod) { IfName = "lo" };
        // The reference 1.1.1 loopback prints 0.3.x/0.4.0 ips without "version", which those
        // specs require: not compared; ours is held to the spec below.
        run.Norm.DropIpVersion = true;
        CniOutcome added = run.Add(net, a);
        if (!run.IsReference && added.Ok && !version.StartsWith("1.", StringComparison.Ordinal))
        {
            Assert.All(added.Json!["ips"]!.AsArray(), ip => Assert.NotNull(ip!["version"]));
        }
        run.Snapshot("after ADD");
        run.Check(net, a);
        run.Del(net, a);
        run.Snapshot("after DEL");
        pod.Delete();
        run.Del(net, a, "DEL after netns deleted");
    });

    [RootTheory]
    [MemberData(nameof(ReferenceTypes))]
    public void Add_BadJson_FailsWithCode6(string type) => Oracle.Compare([type], run =>
    {
        Pod pod = run.Node.Pod("a");
        run.Record("ADD {bad", run.Node.Exec(type, new CniRequest { Command = "ADD", ContainerId = "c", Netns = pod.Path, Config = "{\"cniVersion\":\"1.0.0\",bad" }), exactMessage: false);
        Assert.True(run.Lines.Any(l => l.Contains("code=6", StringComparison.Ordinal)), string.Join('\n', run.Lines));
    });

    [RootFact]
    public void Add_FlannelBadJson_FailsWithCode6()
    {
        PluginDirs.EnsurePresent(PluginSet.Ours, "flannel");
        CniOutcome o = CniExec.Run(PluginDirs.Ours, "flannel", new CniRequest { Command = "ADD", ContainerId = "c", Netns = "/var/run/netns/none", Config = "{bad" }, null);
        Assert.True(o.ErrorCode == 6, $"expected code 6: {o}");
    }

    [RootTheory]
    [InlineData("CNI_CONTAINERID")]
    [InlineData("CNI_NETNS")]
    [InlineData("CNI_IFNAME")]
    [InlineData("CNI_PATH")]
    public void Add_MissingEnvironment_FailsWithCode4(string variable) => Oracle.Compare(BridgeIpam, run =>
    {
        Pod pod = run.Node.Pod("a");
        string conf = Configs.Bridge(run.Node);
        run.Record($"ADD without {variable}", run.Node.Exec("bridge", new CniRequest { Command = "ADD", ContainerId = "c", Netns = pod.Path, Config = conf, Unset = [variable] }));
        Assert.Contains(run.Lines, l => l.Contains("code=4", StringComparison.Ordinal));
        run.Snapshot("after refused ADD");
    });

    [RootTheory]
    [MemberData(nameof(ReferenceTypes))]
    public void Add_UnknownVersion_FailsWithCode1(string type) => Oracle.Compare([type], run =>
    {
        Pod pod = run.Node.Pod("a");
        string conf = $$$"""{"cniVersion":"9.9.9","name":"confnet","type":"{{{type}}}","ipam":{"type":"host-local","subnet":"10.244.7.0/24","dataDir":"{{{run.Node.IpamDir}}}"}}""";
        run.Record("ADD cniVersion 9.9.9", run.Node.Exec(type, new CniRequest { Command = "ADD", ContainerId = "c", Netns = pod.Path, Config = conf }));
        Assert.Contains(run.Lines, l => l.Contains("code=1", StringComparison.Ordinal));
    });

    /// <summary>
    /// A field of the wrong JSON type. The reference answers 999 ("internal", Go's unmarshal error);
    /// the spec's code for a config that fails validation is 7 (6 = could not decode is accepted too).
    /// We follow the spec and require the message to name the field.
    /// </summary>
    [RootTheory]
    [InlineData("bridge", "mtu", """{"cniVersion":"1.0.0","name":"confnet","type":"bridge","mtu":"big","ipam":{"type":"host-local","subnet":"10.244.7.0/24","dataDir":"$DIR/ipam"}}""")]
    [InlineData("bridge", "hairpinMode", """{"cniVersion":"1.0.0","name":"confnet","type":"bridge","hairpinMode":"yes","ipam":{"type":"host-local","subnet":"10.244.7.0/24","dataDir":"$DIR/ipam"}}""")]
    [InlineData("host-local", "ranges", """{"cniVersion":"1.0.0","name":"confnet","type":"bridge","ipam":{"type":"host-local","ranges":"10.244.7.0/24","dataDir":"$DIR/ipam"}}""")]
    [InlineData("portmap", "snat", """{"cniVersion":"1.0.0","name":"confnet","type":"portmap","snat":"yes","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.244.7.2/24"}]}}""")]
    public void Add_FieldOfWrongType_FailsWithCode7NamingTheField(string type, string field, string config)
    {
        Oracle.Single(PluginSet.Ours, [type], run =>
        {
            Pod pod = run.Node.Pod("a");
            CniOutcome o = run.Node.Exec(type, new CniRequest { Command = "ADD", ContainerId = "c", Netns = pod.Path, Config = run.Node.Expand(config) });
            Assert.False(o.Ok, $"ADD with a {field} of the wrong type succeeded: {o}");
            Assert.True(o.ErrorCode is 7 or 6, $"expected code 7 (invalid network config): {o}");
            Assert.Contains(field, o.ErrorMessage, StringComparison.OrdinalIgnoreCase);
        });
    }

    /// <summary>Unknown keys are ignored by the reference (Go's decoder); ours must not refuse them either.</summary>
    [RootFact]
    public void Add_UnknownField_IgnoredLikeReference() => Oracle.Compare(BridgeIpam, run =>
    {
        NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, extra: """{"fooBar":{"x":1},"isGateway":true}"""));
        Attachment a = new("ctr-a", run.Node.Pod("a"));
        run.Add(net, a);
        run.Snapshot("after ADD");
        run.Del(net, a);
    });

    /// <summary>The pod's namespace is gone before DEL (the runtime crashed or cleaned up first): DEL still succeeds and frees the address.</summary>
    [RootFact]
    public void Del_NetnsGone_SucceedsAndReleases() => Oracle.Compare(BridgeIpam, run =>
    {
        NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, extra: """{"isGateway":true}"""));
        Pod pod = run.Node.Pod("a");
        Attachment a = new("ctr-a", pod);
        run.Add(net, a);
        pod.Delete();
        run.Del(net, a, "DEL after netns deleted");
        run.Del(net, a, "DEL again");
        run.Snapshot("after DEL");
    });

    /// <summary>1.1.0 is beyond the reference: ours at 1.1.0 must do exactly what the reference does at 1.0.0.</summary>
    [RootFact]
    public void Lifecycle_Version110_SameAsReferenceAt100() => Oracle.Compare(BridgeIpam, run =>
    {
        string version = run.IsReference ? "1.0.0" : "1.1.0";
        run.Norm.Aliases.Add(("\"1.1.0\"", "\"1.0.0\""));
        NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, version, """{"isGateway":true}"""));
        Attachment a = new("ctr-a", run.Node.Pod("a"));
        run.Add(net, a);
        run.Check(net, a);
        run.Snapshot("after ADD");
        run.Del(net, a);
        run.Snapshot("after DEL");
    });

    [RootTheory]
    [MemberData(nameof(Types))]
    public void Status_Version110_Succeeds(string type)
    {
        Oracle.Single(PluginSet.Ours, [type], run =>
        {
            File.WriteAllText(run.Node.SubnetFile, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
            string conf = run.Node.Expand($$$"""
                {"cniVersion":"1.1.0","name":"confnet","type":"{{{type}}}","subnetFile":"$DIR/subnet.env","dataDir":"$DIR/flannel",
                 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.7.0/24"}]],"dataDir":"$DIR/ipam"}}
                """);
            CniOutcome o = run.Node.Exec(type, new CniRequest { Command = "STATUS", Config = conf, IfName = null });
            Assert.True(o.Ok, $"{type} STATUS: {o}");
        });
    }

    /// <summary>GC (1.1.0): addresses held for attachments not in cni.dev/valid-attachments are released.</summary>
    [RootFact]
    public void Gc_Version110_ReleasesStaleAddresses()
    {
        Oracle.Single(PluginSet.Ours, BridgeIpam, run =>
        {
            NetworkList net = NetworkList.Single(Configs.Bridge(run.Node, "1.1.0", """{"isGateway":true}"""));
            Attachment a = new("ctr-a", run.Node.Pod("a"));
            Attachment b = new("ctr-b", run.Node.Pod("b"));
            Libcni.Add(run.Node, net, a).EnsureSuccess("ADD a");
            Libcni.Add(run.Node, net, b).EnsureSuccess("ADD b");
            CniOutcome gc = Libcni.Network(run.Node, net, "GC", new JsonObject
            {
                ["cni.dev/valid-attachments"] = new JsonArray(new JsonObject { ["containerID"] = "ctr-a", ["ifname"] = "eth0" }),
            });
            Assert.True(gc.Ok, $"GC: {gc}");
            string[] files = [.. StateProbe.DataDir(run.Node.IpamDir)];
            Assert.Contains(files, f => f.Contains("10.244.7.2", StringComparison.Ordinal) && f.Contains("ctr-a", StringComparison.Ordinal));
            Assert.DoesNotContain(files, f => f.Contains("ctr-b", StringComparison.Ordinal));
        });
    }
}
