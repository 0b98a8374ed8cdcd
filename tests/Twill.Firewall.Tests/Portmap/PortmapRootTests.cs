using System.Text.Json;
using Twill.Firewall.Iptables;
using Twill.Firewall.Portmap;
using Twill.Testing;
using Xunit.Abstractions;
using Twill.Core;

namespace Twill.Firewall.Tests;

/// <summary>Portmap applied in throw-away namespaces, held against the reference plugin's own result.</summary>
public class PortmapRootTests
{
    private readonly ITestOutputHelper _output;

    public PortmapRootTests(ITestOutputHelper output) => _output = output;

    private const string Mappings = """
        [{"hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":8053,"containerPort":53,"protocol":"udp"},
         {"hostPort":9090,"containerPort":90,"protocol":"tcp","hostIP":"192.0.2.1"}]
        """;

    private const string Ips = """[{"address":"10.244.1.5/24","interface":0},{"address":"fd00:10:244:1::5/64","interface":0}]""";

    private static PortmapTarget Target(string id) => PortmapRenderTests.Sample() with { ContainerId = id };

    [RootFact]
    public void Add_SameInput_SameNatTablesAsReferencePluginAndEachDeletesTheOthers()
    {
        Assert.True(Reference.Available("portmap"), "reference portmap missing in /usr/lib/cni");
        using TestNetns pod = new("pod");
        using TestNetns refNode = new("ref");
        using TestNetns ourNode = new("ours");
        const string id = "abc123";
        string config = Reference.PortmapConfig("mynet", Mappings, pod.Path, Ips);

        Reference.Run(refNode, pod, "portmap", "ADD", id, config);
        PortmapOutcome outcome = Portmap.Portmap.Add(Target(id), new NsenterFirewallRunner(ourNode.Path));
        Assert.Empty(outcome.Warnings);

        foreach (IpFamily f in new[] { IpFamily.V4, IpFamily.V6 })
        {
            string expected = Reference.Nat(refNode, f).Normalized();
            Assert.Contains("CNI-DN-70a29d9dc18bc4d652ea5", expected, StringComparison.Ordinal);
            Assert.Equal(expected, Reference.Nat(ourNode, f).Normalized());
        }

        // Each implementation removes what the other made, down to the same table.
        Portmap.Portmap.Delete("mynet", id, new NsenterFirewallRunner(refNode.Path));
        Reference.Run(ourNode, pod, "portmap", "DEL", id, config);
        foreach (IpFamily f in new[] { IpFamily.V4, IpFamily.V6 })
        {
            string afterOurs = Reference.Nat(refNode, f).Normalized();
            Assert.DoesNotContain("CNI-DN-", afterOurs, StringComparison.Ordinal);
            Assert.Equal(afterOurs, Reference.Nat(ourNode, f).Normalized());
        }

        // DEL again, and DEL of a container never added: success, nothing changes.
        string before = Reference.Nat(refNode, IpFamily.V4).Normalized();
        Portmap.Portmap.Delete("mynet", id, new NsenterFirewallRunner(refNode.Path));
        Portmap.Portmap.Delete("mynet", "never-added", new NsenterFirewallRunner(refNode.Path));
        Assert.Equal(before, Reference.Nat(refNode, IpFamily.V4).Normalized());
    }

    [RootFact]
    public void Add_TwoContainers_SharedChainsOnceAndDeleteKeepsTheOther()
    {
        using TestNetns node = new("node");
        NsenterFirewallRunner runner = new(node.Path);
        Portmap.Portmap.Add(Target("c1"), runner);
        Portmap.Portmap.Add(Target("c1"), runner); // repeated ADD: no duplicates
        Portmap.Portmap.Add(Target("c2") with { ContainerIPs = [InterfaceAddress.Parse("10.244.1.6/24")], Mappings = [new PortMapping(8081, 80, "tcp")] }, runner);
        SavedTable nat = Reference.Nat(node, IpFamily.V4);
        Assert.Single(nat.Rules("PREROUTING"));
        Assert.Single(nat.Rules("OUTPUT"));
        Assert.Single(nat.Rules("POSTROUTING"));
        Assert.Single(nat.Rules("CNI-HOSTPORT-SETMARK"));
        Assert.Equal(3, nat.Rules("CNI-HOSTPORT-DNAT").Count);
        Assert.Equal(9, nat.Rules(ChainNames.PortmapDnat("mynet", "c1")).Count);

        Portmap.Portmap.Delete("mynet", "c1", runner);
        nat = Reference.Nat(node, IpFamily.V4);
        Assert.False(nat.HasChain(ChainNames.PortmapDnat("mynet", "c1")));
        Assert.True(nat.HasChain(ChainNames.PortmapDnat("mynet", "c2")));
        Assert.Single(nat.Rules("CNI-HOSTPORT-DNAT"));
        Assert.Empty(Portmap.Portmap.Check(Target("c2") with { ContainerIPs = [InterfaceAddress.Parse("10.244.1.6/24")], Mappings = [new PortMapping(8081, 80, "tcp")] }, runner));
    }

    [RootFact]
    public void Check_RuleDeletedByHand_ReportedThenRepairedByAdd()
    {
        using TestNetns node = new("node");
        NsenterFirewallRunner runner = new(node.Path);
        PortmapTarget t = Target("abc123");
        Portmap.Portmap.Add(t, runner);
        Assert.Empty(Portmap.Portmap.Check(t, runner));

        string chain = ChainNames.PortmapDnat("mynet", "abc123");
        node.Exec("iptables", "-t", "nat", "-D", chain, "3").EnsureSuccess("iptables -D");
        IReadOnlyList<string> problems = Portmap.Portmap.Check(t, runner);
        Assert.Contains(problems, p => p.Contains("DNAT --to-destination 10.244.1.5:80", StringComparison.Ordinal));

        Portmap.Portmap.Add(t, runner);
        Assert.Empty(Portmap.Portmap.Check(t, runner));
    }

    [RootFact]
    public void Add_Parallel_NoLostOrDuplicatedSharedRules()
    {
        using TestNetns node = new("node");
        NsenterFirewallRunner runner = new(node.Path);
        Parallel.For(0, 8, i => Portmap.Portmap.Add(
            Target("p" + i) with { ContainerIPs = [InterfaceAddress.Parse($"10.244.1.{10 + i}/24")], Mappings = [new PortMapping(8000 + i, 80, "tcp")] }, runner));
        SavedTable nat = Reference.Nat(node, IpFamily.V4);
        Assert.Single(nat.Rules("PREROUTING"));
        Assert.Single(nat.Rules("POSTROUTING"));
        Assert.Equal(8, nat.Rules("CNI-HOSTPORT-DNAT").Count);
        Parallel.For(0, 8, i => Portmap.Portmap.Delete("mynet", "p" + i, runner));
        Assert.Empty(Reference.Nat(node, IpFamily.V4).Rules("CNI-HOSTPORT-DNAT"));
    }

    [RootFact]
    public void Add_Udp_FlushesStaleConntrackEntries()
    {
        using TestNetns node = new("node");
        NsenterFirewallRunner runner = new(node.Path);
        // Conntrack only tracks in a namespace once something (here a nat rule) needs it.
        Portmap.Portmap.Add(Target("c0") with { Mappings = [new PortMapping(7000, 70, "tcp")] }, runner);
        // A UDP flow to the host port that predates the mapping (as a client retrying would create).
        node.Ip("addr", "add", "192.0.2.1/24", "dev", "lo");
        Tool.Result send = node.Exec("/usr/bin/python3", "-c",
            "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('192.0.2.1', 8053))");
        send.EnsureSuccess("udp send");
        Assert.Contains("dport=8053", node.Exec("conntrack", "-L", "-p", "udp").Stdout, StringComparison.Ordinal);
        PortmapOutcome o = Portmap.Portmap.Add(Target("abc123"), runner);
        Assert.Empty(o.Warnings);
        Assert.DoesNotContain("dport=8053", node.Exec("conntrack", "-L", "-p", "udp").Stdout, StringComparison.Ordinal);
    }

    [RootFact]
    public void Nftables_AddCheckDelete_RulesTaggedWithContainerId()
    {
        using TestNetns node = new("node");
        NsenterFirewallRunner runner = new(node.Path);
        PortmapTarget t = Target("abc123") with { Backend = PortmapBackend.Nftables };
        Portmap.Portmap.Add(t, runner);
        Portmap.Portmap.Add(t, runner); // repeated ADD replaces its rules
        Portmap.Portmap.Add(t with { ContainerId = "other", ContainerIPs = [InterfaceAddress.Parse("10.244.1.9/24")] }, runner);

        JsonElement v4 = Reference.NftJson(node, "list", "table", "ip", "cni_hostport");
        List<JsonElement> mine = [.. Reference.NftRules(v4).Where(r => r.TryGetProperty("comment", out JsonElement c) && c.GetString() == "abc123")];
        Assert.Equal(3, mine.Count(r => r.GetProperty("chain").GetString() == "hostports"));
        Assert.Equal(2, mine.Count(r => r.GetProperty("chain").GetString() == "masquerading"));
        JsonElement v6 = Reference.NftJson(node, "list", "table", "ip6", "cni_hostport");
        Assert.Equal(2, Reference.NftRules(v6).Count(r => r.GetProperty("chain").GetString() == "hostports"));
        Assert.Contains("dnat to 10.244.1.5:80", node.Exec("nft", "list", "chain", "ip", "cni_hostport", "hostports").Stdout, StringComparison.Ordinal);
        Assert.Empty(Portmap.Portmap.Check(t, runner));

        Portmap.Portmap.Delete("mynet", "abc123", runner, PortmapBackend.Nftables);
        Portmap.Portmap.Delete("mynet", "abc123", runner, PortmapBackend.Nftables);
        v4 = Reference.NftJson(node, "list", "table", "ip", "cni_hostport");
        Assert.DoesNotContain(Reference.NftRules(v4), r => r.TryGetProperty("comment", out JsonElement c) && c.GetString() == "abc123");
        Assert.Contains(Reference.NftRules(v4), r => r.TryGetProperty("comment", out JsonElement c) && c.GetString() == "other");
        Assert.NotEmpty(Portmap.Portmap.Check(t, runner));
    }

    [RootTheory]
    [InlineData(PortmapBackend.Iptables)]
    [InlineData(PortmapBackend.Nftables)]
    public void Add_Traffic_HostPortReachesPodFromOutsideHairpinAndLocalhostMasqueraded(PortmapBackend backend)
    {
        using TestNetns pod = new("pod");
        using TestNetns node = new("node");
        using TestNetns world = new("world");
        Lab.Wire(pod, node, world);
        NsenterFirewallRunner runner = new(node.Path);
        PortmapTarget t = Target("abc123") with
        {
            ContainerIPs = [InterfaceAddress.Parse("10.244.1.2/24")],
            Mappings = [new PortMapping(8053, 53, "udp")],
            Backend = backend,
        };
        Portmap.Portmap.Add(t, runner);

        // From outside: DNAT to the pod, the client's address kept.
        Assert.Equal("203.0.113.2", Lab.SourceSeenBy(pod, "0.0.0.0", 53, world, "203.0.113.1", 8053));
        // Hairpin: the pod reaches itself through the node's host port, source rewritten to the node.
        Assert.Equal("10.244.1.1", Lab.SourceSeenBy(pod, "0.0.0.0", 53, pod, "203.0.113.1", 8053));
        // Localhost on the node, once the CNI plugin has set route_localnet on the pod's host interface.
        node.Exec("sysctl", "-qw", "net.ipv4.conf.vpod.route_localnet=1").EnsureSuccess("sysctl");
        Assert.Equal("10.244.1.1", Lab.SourceSeenBy(pod, "0.0.0.0", 53, node, "127.0.0.1", 8053));

        Portmap.Portmap.Delete("mynet", "abc123", runner, backend);
        Assert.NotEmpty(Portmap.Portmap.Check(t, runner));
    }

    private static PortmapTarget Pod(string id, int n) =>
        Target(id) with { ContainerIPs = [InterfaceAddress.Parse($"10.244.1.{n}/24")], Mappings = [new PortMapping(8000 + n, 80, "tcp")] };

    [RootFact]
    public void Add_SharedChainsInPlace_OneRestoreAndForeignRulesInSharedChainsKept()
    {
        using TestNetns node = new("node");
        RecordingRunner runner = new(new NsenterFirewallRunner(node.Path));
        Portmap.Portmap.Add(Pod("c1", 11), runner);
        // Rules someone else put in the shared chains: a declaration under --noflush would flush them.
        node.Exec("iptables", "-t", "nat", "-A", "CNI-HOSTPORT-DNAT", "-p", "tcp", "--dport", "1", "-j", "RETURN").EnsureSuccess("iptables -A");
        node.Exec("iptables", "-t", "nat", "-A", "CNI-HOSTPORT-MASQ", "-s", "192.0.2.9", "-j", "RETURN").EnsureSuccess("iptables -A");
        runner.Tools.Clear();

        Portmap.Portmap.Add(Pod("c2", 12), runner);

        Assert.Equal(["iptables-restore"], runner.Tools);
        SavedTable nat = Reference.Nat(node, IpFamily.V4);
        Assert.Contains("-p tcp -m tcp --dport 1 -j RETURN", nat.Rules("CNI-HOSTPORT-DNAT"));
        Assert.Contains("-s 192.0.2.9/32 -j RETURN", nat.Rules("CNI-HOSTPORT-MASQ"));
        Assert.Equal(3, nat.Rules("CNI-HOSTPORT-DNAT").Count);
        Assert.Empty(Portmap.Portmap.Check(Pod("c1", 11), runner));
        Assert.Empty(Portmap.Portmap.Check(Pod("c2", 12), runner));
        // Nothing in ip6tables: the pod has no IPv6 address.
        Assert.DoesNotContain(runner.Tools, t => t.StartsWith("ip6", StringComparison.Ordinal));
        Assert.False(Reference.Nat(node, IpFamily.V6).HasChain("CNI-HOSTPORT-DNAT"));
    }

    [RootFact]
    public void Add_SharedRuleDeletedByHand_FastPathRejectedAndPlannedAddRepairsIt()
    {
        using TestNetns node = new("node");
        RecordingRunner runner = new(new NsenterFirewallRunner(node.Path));
        Portmap.Portmap.Add(Pod("c1", 11), runner);
        node.Exec("iptables", "-t", "nat", "-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT").EnsureSuccess("iptables -D");
        runner.Tools.Clear();

        Portmap.Portmap.Add(Pod("c2", 12), runner);

        Assert.Equal(["iptables-restore", "iptables-save", "iptables-restore"], runner.Tools);
        SavedTable nat = Reference.Nat(node, IpFamily.V4);
        Assert.Single(nat.Rules("OUTPUT"));
        Assert.Equal(2, nat.Rules("CNI-HOSTPORT-DNAT").Count);
        Assert.Empty(Portmap.Portmap.Check(Pod("c2", 12), runner));
    }

    [RootFact]
    public void Add_Repeated_FastPathRejectedAndChainReplacedNotDuplicated()
    {
        using TestNetns node = new("node");
        RecordingRunner runner = new(new NsenterFirewallRunner(node.Path));
        Portmap.Portmap.Add(Pod("c1", 11), runner);
        string before = Reference.Nat(node, IpFamily.V4).Normalized();
        Portmap.Portmap.Add(Pod("c1", 11), runner);
        Assert.Equal(before, Reference.Nat(node, IpFamily.V4).Normalized());
    }

    [RootFact]
    public void Delete_AddedTargetKnown_OneRestoreRemovesOnlyThatContainer()
    {
        using TestNetns node = new("node");
        RecordingRunner runner = new(new NsenterFirewallRunner(node.Path));
        Portmap.Portmap.Add(Pod("c1", 11), runner);
        string withoutC2 = Reference.Nat(node, IpFamily.V4).Normalized();
        Portmap.Portmap.Add(Pod("c2", 12), runner);
        runner.Tools.Clear();

        Portmap.Portmap.Delete("mynet", "c2", runner, PortmapBackend.Iptables, Pod("c2", 12));

        Assert.Equal(["iptables-restore"], runner.Tools);
        Assert.Equal(withoutC2, Reference.Nat(node, IpFamily.V4).Normalized());
        // Again: the fast script fails (nothing left to delete), the planned one finds nothing to do.
        Portmap.Portmap.Delete("mynet", "c2", runner, PortmapBackend.Iptables, Pod("c2", 12));
        Assert.Equal(withoutC2, Reference.Nat(node, IpFamily.V4).Normalized());
    }

    [RootFact]
    public void Delete_NoMappingsKnownAndNothingAdded_OneReadPerFamilyNothingWritten()
    {
        using TestNetns node = new("node");
        RecordingRunner runner = new(new NsenterFirewallRunner(node.Path));
        Portmap.Portmap.Add(Pod("c1", 11), runner);
        string before = Reference.Nat(node, IpFamily.V4).Normalized();
        runner.Tools.Clear();

        Portmap.Portmap.Delete("mynet", "never-added", runner);

        Assert.Equal(["iptables-save", "ip6tables-save"], runner.Tools);
        Assert.Equal(before, Reference.Nat(node, IpFamily.V4).Normalized());
        // A blind write would have created an empty ip6 nat table here.
        Assert.DoesNotContain("ip6 nat", node.Exec("nft", "list", "tables").Stdout, StringComparison.Ordinal);
    }

    [RootFact]
    public void Delete_RulesNotAsAdded_FastPathRejectedAndEveryJumpRemoved()
    {
        using TestNetns node = new("node");
        RecordingRunner runner = new(new NsenterFirewallRunner(node.Path));
        Portmap.Portmap.Add(Pod("c1", 11), runner);
        string withoutC2 = Reference.Nat(node, IpFamily.V4).Normalized();
        Portmap.Portmap.Add(Pod("c2", 12), runner);
        string chain = ChainNames.PortmapDnat("mynet", "c2");
        // A second jump to the container's chain that DEL's config does not describe: -X must refuse.
        node.Exec("iptables", "-t", "nat", "-A", "CNI-HOSTPORT-DNAT", "-p", "udp", "--dport", "9", "-j", chain).EnsureSuccess("iptables -A");
        runner.Tools.Clear();

        Portmap.Portmap.Delete("mynet", "c2", runner, PortmapBackend.Iptables, Pod("c2", 12));

        Assert.Equal(["iptables-restore", "iptables-save", "iptables-restore"], runner.Tools);
        Assert.Equal(withoutC2, Reference.Nat(node, IpFamily.V4).Normalized());
    }

    [RootFact]
    public void Restore_BadRule_ErrorCarriesStderrAndFailingLine()
    {
        using TestNetns node = new("node");
        FirewallException e = Assert.Throws<FirewallException>(() =>
            IptablesTool.Restore(new NsenterFirewallRunner(node.Path), IpFamily.V4, "*nat\n-A NO-SUCH-CHAIN -j ACCEPT\nCOMMIT\n"));
        Assert.Equal("iptables-restore", e.Tool);
        Assert.Equal("-A NO-SUCH-CHAIN -j ACCEPT", e.FailingLine);
        Assert.Contains("NO-SUCH-CHAIN", e.Message, StringComparison.Ordinal);
    }
}

/// <summary>Passes tool runs to another runner and records which tools ran, in order.</summary>
internal sealed class RecordingRunner(IFirewallRunner inner) : IFirewallRunner
{
    public List<string> Tools { get; } = [];

    public ToolOutput Run(string tool, IReadOnlyList<string> args, string? stdin = null)
    {
        lock (Tools)
        {
            Tools.Add(tool);
        }
        return inner.Run(tool, args, stdin);
    }

    public IDisposable Lock() => inner.Lock();
}
