using System.Net.NetworkInformation;
using System.Text.Json;
using Twill.Firewall.Spoofcheck;
using Twill.Testing;

namespace Twill.Firewall.Tests;

/// <summary>The bridge plugin's macspoofchk rules: rendering (pure) and their effect in throw-away namespaces.</summary>
public class MacSpoofCheckTests
{
    private static readonly PhysicalAddress PodMac = PhysicalAddress.Parse("B2-7C-22-BC-11-B0");

    [Fact]
    public void Names_ContainerAndIfName_AsReference()
    {
        // The reference's uniqueID is containerID + "-" + ifname, used as is (no hash).
        Assert.Equal("ctr-a-eth0", MacSpoofCheck.RefId("ctr-a", "eth0"));
        Assert.Equal("cni-br-iface-ctr-a-eth0", MacSpoofCheck.InterfaceChain("ctr-a", "eth0"));
        Assert.Equal("cni-br-iface-ctr-a-eth0-mac", MacSpoofCheck.MacChain("ctr-a", "eth0"));
        Assert.Equal("macspoofchk-ctr-a-eth0", MacSpoofCheck.Comment("ctr-a", "eth0"));
    }

    [Fact]
    public void RenderSetup_Pod_DeclaresFlushesAndFillsInOneScript()
    {
        string script = MacSpoofCheck.RenderSetup("veth99d0d452", PodMac, "ctr-a", "eth0");
        Assert.Equal("""
            add table bridge nat
            add chain bridge nat PREROUTING { type filter hook prerouting priority -300; policy accept; }
            add chain bridge nat cni-br-iface-ctr-a-eth0
            add chain bridge nat cni-br-iface-ctr-a-eth0-mac
            flush chain bridge nat cni-br-iface-ctr-a-eth0
            flush chain bridge nat cni-br-iface-ctr-a-eth0-mac
            add rule bridge nat PREROUTING iifname "veth99d0d452" jump cni-br-iface-ctr-a-eth0 comment "macspoofchk-ctr-a-eth0"
            add rule bridge nat cni-br-iface-ctr-a-eth0 jump cni-br-iface-ctr-a-eth0-mac comment "macspoofchk-ctr-a-eth0"
            add rule bridge nat cni-br-iface-ctr-a-eth0-mac ether saddr b2:7c:22:bc:11:b0 return comment "macspoofchk-ctr-a-eth0"
            add rule bridge nat cni-br-iface-ctr-a-eth0-mac drop comment "macspoofchk-ctr-a-eth0"

            """.Replace("\r", "", StringComparison.Ordinal), script);
    }

    [Fact]
    public void RenderSetup_KubernetesContainerId_IsOneBareWord()
    {
        string id = new('f', 64);
        string script = MacSpoofCheck.RenderSetup("veth0a1b2c3d", PodMac, id, "eth0");
        Assert.Contains($"jump cni-br-iface-{id}-eth0-mac comment \"macspoofchk-{id}-eth0\"", script, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("eth 0", "' '")]
    [InlineData("eth@0", "'@'")]
    [InlineData("eth\"0", "'\"'")]
    public void RenderSetup_IfNameNftCannotSpell_ThrowsNamingIt(string ifName, string character)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => MacSpoofCheck.RenderSetup("veth0a1b2c3d", PodMac, "ctr-a", ifName));
        Assert.Contains(ifName, e.Message, StringComparison.Ordinal);
        Assert.Contains(character, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderSetup_HostInterfaceWithQuote_Throws()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => MacSpoofCheck.RenderSetup("ve\"th", PodMac, "ctr-a", "eth0"));
        Assert.Contains("host interface \"ve\"th\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FormatMac_NotEthernet_Throws()
    {
        Assert.Equal("02:00:00:00:00:0a", MacSpoofCheck.FormatMac(PhysicalAddress.Parse("02-00-00-00-00-0A")));
        Assert.Throws<ArgumentException>(() => MacSpoofCheck.FormatMac(PhysicalAddress.Parse("02-00-00-00-00-00-00-01")));
    }

    /// <summary>What the reference 1.1.1 leaves for pods ctr-a and ctr-b (`nft -j list table bridge nat`, trimmed).</summary>
    private const string TwoPods = """
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
        {"table": {"family": "bridge", "name": "nat", "handle": 1}},
        {"chain": {"family": "bridge", "table": "nat", "name": "PREROUTING", "handle": 1, "type": "filter", "hook": "prerouting", "prio": -300, "policy": "accept"}},
        {"chain": {"family": "bridge", "table": "nat", "name": "cni-br-iface-ctr-a-eth0", "handle": 2}},
        {"chain": {"family": "bridge", "table": "nat", "name": "cni-br-iface-ctr-a-eth0-mac", "handle": 3}},
        {"chain": {"family": "bridge", "table": "nat", "name": "cni-br-iface-ctr-b-eth0", "handle": 8}},
        {"chain": {"family": "bridge", "table": "nat", "name": "cni-br-iface-ctr-b-eth0-mac", "handle": 9}},
        {"rule": {"family": "bridge", "table": "nat", "chain": "PREROUTING", "handle": 4, "comment": "macspoofchk-ctr-a-eth0",
          "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "veth99d0d452"}}, {"jump": {"target": "cni-br-iface-ctr-a-eth0"}}]}},
        {"rule": {"family": "bridge", "table": "nat", "chain": "PREROUTING", "handle": 10, "comment": "macspoofchk-ctr-b-eth0",
          "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "veth0000beef"}}, {"jump": {"target": "cni-br-iface-ctr-b-eth0"}}]}},
        {"rule": {"family": "bridge", "table": "nat", "chain": "PREROUTING", "handle": 14, "comment": "macspoofchk-ctr-a-eth0",
          "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "veth99d0d452"}}, {"jump": {"target": "cni-br-iface-ctr-a-eth0"}}]}},
        {"rule": {"family": "bridge", "table": "nat", "chain": "cni-br-iface-ctr-a-eth0", "handle": 5, "comment": "macspoofchk-ctr-a-eth0",
          "expr": [{"jump": {"target": "cni-br-iface-ctr-a-eth0-mac"}}]}},
        {"rule": {"family": "bridge", "table": "nat", "chain": "cni-br-iface-ctr-a-eth0-mac", "handle": 6, "comment": "macspoofchk-ctr-a-eth0",
          "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ether", "field": "saddr"}}, "right": "b2:7c:22:bc:11:b0"}}, {"return": null}]}},
        {"rule": {"family": "bridge", "table": "nat", "chain": "cni-br-iface-ctr-a-eth0-mac", "handle": 7, "comment": "macspoofchk-ctr-a-eth0", "expr": [{"drop": null}]}}
        ]}
        """;

    [Fact]
    public void PlanTeardown_TwoPods_DeletesOnlyThisAttachmentByHandle()
    {
        // Both jumps (a repeated ADD appends a second one), then the jumping chain before its target.
        Assert.Equal("""
            delete rule bridge nat PREROUTING handle 4
            delete rule bridge nat PREROUTING handle 14
            delete chain bridge nat handle 2
            delete chain bridge nat handle 3

            """.Replace("\r", "", StringComparison.Ordinal), MacSpoofCheck.PlanTeardown(TwoPods, "ctr-a", "eth0"));
    }

    [Fact]
    public void PlanTeardown_OtherIfName_LeavesPodsRules()
    {
        Assert.Equal("", MacSpoofCheck.PlanTeardown(TwoPods, "ctr-a", "net1"));
        Assert.Equal("", MacSpoofCheck.PlanTeardown(TwoPods, "ctr-c", "eth0"));
    }

    [Fact]
    public void PlanTeardown_ChainsWithoutJump_DeletesChains()
    {
        // A crash between the reference's two transactions leaves declared, empty chains.
        const string listing = """
            {"nftables": [{"table": {"family": "bridge", "name": "nat", "handle": 1}},
            {"chain": {"family": "bridge", "table": "nat", "name": "cni-br-iface-ctr-a-eth0", "handle": 2}},
            {"chain": {"family": "bridge", "table": "nat", "name": "cni-br-iface-ctr-a-eth0-mac", "handle": 3}}]}
            """;
        Assert.Equal("delete chain bridge nat handle 2\ndelete chain bridge nat handle 3\n", MacSpoofCheck.PlanTeardown(listing, "ctr-a", "eth0"));
    }

    // ---- in namespaces ---------------------------------------------------------------------

    [RootFact]
    public void Setup_InNamespace_ListsAsReferenceAndTeardownLeavesOnlySharedChain()
    {
        using TestNetns node = new("spoof");
        NsenterFirewallRunner runner = new(node.Path);
        MacSpoofCheck.Setup("veth99d0d452", PodMac, "ctr-a", "eth0", runner);
        MacSpoofCheck.Setup("veth0000beef", PhysicalAddress.Parse("02-00-00-00-00-0B"), "ctr-b", "eth0", runner);
        string listing = node.Exec("nft", "list", "table", "bridge", "nat").EnsureSuccess("nft list").Stdout;
        // What `nft list` printed after the reference 1.1.1 bridge's ADD of ctr-a.
        Assert.Contains("""
            	chain PREROUTING {
            		type filter hook prerouting priority dstnat; policy accept;
            		iifname "veth99d0d452" jump cni-br-iface-ctr-a-eth0 comment "macspoofchk-ctr-a-eth0"
            		iifname "veth0000beef" jump cni-br-iface-ctr-b-eth0 comment "macspoofchk-ctr-b-eth0"
            	}

            	chain cni-br-iface-ctr-a-eth0 {
            		jump cni-br-iface-ctr-a-eth0-mac comment "macspoofchk-ctr-a-eth0"
            	}

            	chain cni-br-iface-ctr-a-eth0-mac {
            		ether saddr b2:7c:22:bc:11:b0 return comment "macspoofchk-ctr-a-eth0"
            		drop comment "macspoofchk-ctr-a-eth0"
            	}
            """.Replace("\r", "", StringComparison.Ordinal), listing, StringComparison.Ordinal);

        MacSpoofCheck.Teardown("ctr-a", "eth0", runner);
        MacSpoofCheck.Teardown("ctr-a", "eth0", runner); // repeated DEL: nothing left to do
        string after = node.Exec("nft", "list", "table", "bridge", "nat").EnsureSuccess("nft list").Stdout;
        Assert.DoesNotContain("ctr-a", after, StringComparison.Ordinal);
        Assert.Contains("macspoofchk-ctr-b-eth0", after, StringComparison.Ordinal);
        Assert.Contains("chain cni-br-iface-ctr-b-eth0-mac", after, StringComparison.Ordinal);

        MacSpoofCheck.Teardown("ctr-b", "eth0", runner);
        JsonElement left = Reference.NftJson(node, "list", "table", "bridge", "nat");
        Assert.Empty(Reference.NftRules(left));
        Assert.Equal(["PREROUTING"], left.GetProperty("nftables").EnumerateArray()
            .Where(e => e.TryGetProperty("chain", out _)).Select(e => e.GetProperty("chain").GetProperty("name").GetString()));
    }

    [RootFact]
    public void Setup_Repeated_TeardownRemovesEveryJump()
    {
        using TestNetns node = new("spoof");
        NsenterFirewallRunner runner = new(node.Path);
        MacSpoofCheck.Setup("veth99d0d452", PodMac, "ctr-a", "eth0", runner);
        MacSpoofCheck.Setup("veth99d0d452", PodMac, "ctr-a", "eth0", runner);
        JsonElement twice = Reference.NftJson(node, "list", "table", "bridge", "nat");
        // As the reference: the pod's chains are flushed and refilled, the base chain's jump appended again.
        Assert.Equal(2, Reference.NftRules(twice).Count(r => r.GetProperty("chain").GetString() == "PREROUTING"));
        Assert.Equal(2, Reference.NftRules(twice).Count(r => r.GetProperty("chain").GetString() == "cni-br-iface-ctr-a-eth0-mac"));
        MacSpoofCheck.Teardown("ctr-a", "eth0", runner);
        Assert.Empty(Reference.NftRules(Reference.NftJson(node, "list", "table", "bridge", "nat")));
    }

    [RootFact]
    public void Teardown_NoTable_SucceedsAndCreatesNothing()
    {
        using TestNetns node = new("spoof");
        MacSpoofCheck.Teardown("ctr-a", "eth0", new NsenterFirewallRunner(node.Path));
        Assert.Equal("", node.Exec("nft", "list", "tables").EnsureSuccess("nft list tables").Stdout.Trim());
    }
}
