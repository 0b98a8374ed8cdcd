using System.Net;
using Twill.Firewall.Iptables;
using Twill.Firewall.Masquerade;
using Twill.Firewall.Nftables;
using Twill.Firewall.Portmap;
using Twill.Core;

namespace Twill.Firewall.Tests;

public class MasqueradeRenderTests
{
    internal static NodeFirewallConfig Config(bool v6 = false) => new(
        IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.244.1.0/24"),
        v6 ? IPNetwork.Parse("fd00:10:244::/56") : null, v6 ? IPNetwork.Parse("fd00:10:244:1::/64") : null);

    [Fact]
    public void BridgeMasquerade_PlanSetup_MatchesReferenceText()
    {
        // Text as the reference bridge 1.1.1 (ipMasq: true) left it for 10.244.1.2/24, network mynet, id abc123.
        TableEdit e = BridgeMasquerade.PlanSetup(new SavedTable("nat"), [InterfaceAddress.Parse("10.244.1.2/24")], "mynet", "abc123");
        Assert.Equal("""
            *nat
            :CNI-70a29d9dc18bc4d652ea5d59 - [0:0]
            -A CNI-70a29d9dc18bc4d652ea5d59 -d 10.244.1.0/24 -m comment --comment "name: \"mynet\" id: \"abc123\"" -j ACCEPT
            -A CNI-70a29d9dc18bc4d652ea5d59 ! -d 224.0.0.0/4 -m comment --comment "name: \"mynet\" id: \"abc123\"" -j MASQUERADE
            -A POSTROUTING -s 10.244.1.2/32 -m comment --comment "name: \"mynet\" id: \"abc123\"" -j CNI-70a29d9dc18bc4d652ea5d59
            COMMIT

            """.ReplaceLineEndings("\n"), e.Render());
    }

    [Fact]
    public void BridgeMasquerade_Ipv6_UsesFf00AndHost128()
    {
        string c = ChainNames.MasqueradeComment("mynet", "abc123");
        InterfaceAddress a = InterfaceAddress.Parse("fd00:10:244:1::2/64");
        Assert.Equal("! -d ff00::/8 -m comment --comment \"name: \\\"mynet\\\" id: \\\"abc123\\\"\" -j MASQUERADE", BridgeMasquerade.ChainRules(a, c)[1]);
        Assert.StartsWith("-s fd00:10:244:1::2/128 ", BridgeMasquerade.EntryRule(a, "CNI-x", c), StringComparison.Ordinal);
    }

    [Fact]
    public void NodeFirewall_MasqueradeRules_FlannelLayoutOurNames()
    {
        Assert.Equal(
        [
            "-m mark --mark 0x4000/0x4000 -m comment --comment \"twill masq\" -j RETURN",
            "-s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment \"twill masq\" -j RETURN",
            "-s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment \"twill masq\" -j RETURN",
            "! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment \"twill masq\" -j RETURN",
            "-s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment \"twill masq\" -j MASQUERADE --random-fully",
            "! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment \"twill masq\" -j MASQUERADE --random-fully",
        ], NodeFirewall.MasqueradeRules(IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.244.1.0/24"), IpFamily.V4, randomFully: true));
        Assert.Equal(
        [
            "-s 10.244.0.0/16 -m comment --comment \"twill forward\" -j ACCEPT",
            "-d 10.244.0.0/16 -m comment --comment \"twill forward\" -j ACCEPT",
        ], NodeFirewall.ForwardRules(IPNetwork.Parse("10.244.0.0/16")));
    }

    [Fact]
    public void NodeFirewall_RenderIptables_FreshNodeCreatesChainsAndJumpsOnce()
    {
        string script = NodeFirewall.RenderIptables(Config(), IpFamily.V4, SavedRuleset.Parse(""), force: false);
        Assert.StartsWith("*nat\n:TWILL-POSTRTG - [0:0]\n-A TWILL-POSTRTG -m mark", script, StringComparison.Ordinal);
        Assert.Contains("-A POSTROUTING -m comment --comment \"twill masq\" -j TWILL-POSTRTG\nCOMMIT\n*filter\n:TWILL-FWD - [0:0]\n", script, StringComparison.Ordinal);
        Assert.EndsWith("-A FORWARD -m comment --comment \"twill forward\" -j TWILL-FWD\nCOMMIT\n", script, StringComparison.Ordinal);
        // No IPv6 configured: nothing for ip6tables.
        Assert.Equal("", NodeFirewall.RenderIptables(Config(), IpFamily.V6, SavedRuleset.Parse(""), force: false));
    }

    [Fact]
    public void NodeFirewall_RenderIptables_InPlaceIsEmptyUnlessForcedThenFlushRefillInOneCommit()
    {
        string first = NodeFirewall.RenderIptables(Config(), IpFamily.V4, SavedRuleset.Parse(""), force: false);
        SavedRuleset applied = SavedRuleset.Parse(AsDump(first));
        Assert.Equal("", NodeFirewall.RenderIptables(Config(), IpFamily.V4, applied, force: false));
        string forced = NodeFirewall.RenderIptables(Config(), IpFamily.V4, applied, force: true);
        Assert.StartsWith("*nat\n-F TWILL-POSTRTG\n-A TWILL-POSTRTG", forced, StringComparison.Ordinal);
        Assert.DoesNotContain("POSTROUTING", forced, StringComparison.Ordinal);
        Assert.DoesNotContain(":TWILL", forced, StringComparison.Ordinal);
    }

    [Fact]
    public void NodeFirewall_RenderIptables_DuplicateJumpsCollapsedAndMasqOffRemoves()
    {
        string first = NodeFirewall.RenderIptables(Config(), IpFamily.V4, SavedRuleset.Parse(""), force: false);
        string dump = AsDump(first).Replace("-A POSTROUTING", "-A POSTROUTING -m comment --comment \"twill masq\" -j TWILL-POSTRTG\n-A POSTROUTING", StringComparison.Ordinal);
        string fix = NodeFirewall.RenderIptables(Config(), IpFamily.V4, SavedRuleset.Parse(dump), force: false);
        Assert.Equal(2, fix.Split("-D POSTROUTING").Length - 1);
        Assert.Single(fix.Split("-A POSTROUTING").Skip(1));

        string off = NodeFirewall.RenderIptables(Config() with { IpMasq = false }, IpFamily.V4, SavedRuleset.Parse(AsDump(first)), force: false);
        Assert.Equal("*nat\n-D POSTROUTING -m comment --comment \"twill masq\" -j TWILL-POSTRTG\n-F TWILL-POSTRTG\n-X TWILL-POSTRTG\nCOMMIT\n", off);
    }

    [Fact]
    public void NodeFirewall_RenderNftables_OneTransactionTable()
    {
        Assert.Equal("""
            add table inet twill
            flush table inet twill
            add chain inet twill postrtg { type nat hook postrouting priority 100 ; policy accept ; }
            add chain inet twill forward { type filter hook forward priority 0 ; policy accept ; }
            add rule inet twill postrtg meta mark & 0x00004000 == 0x00004000 return
            add rule inet twill postrtg ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return
            add rule inet twill postrtg ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return
            add rule inet twill postrtg ip saddr != 10.244.0.0/16 ip daddr 10.244.1.0/24 return
            add rule inet twill postrtg ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
            add rule inet twill postrtg ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random
            add rule inet twill forward ip saddr 10.244.0.0/16 accept
            add rule inet twill forward ip daddr 10.244.0.0/16 accept

            """.ReplaceLineEndings("\n"), NodeFirewall.RenderNftables(Config()));
        Assert.Contains("add rule inet twill forward ip6 daddr fd00:10:244::/56 accept\n", NodeFirewall.RenderNftables(Config(v6: true)), StringComparison.Ordinal);
    }

    [Fact]
    public void PortmapNftables_RenderAdd_ReferenceLayout()
    {
        PortmapTarget t = PortmapRenderTests.Sample();
        string s = PortmapNftables.RenderAdd(t, t.AddressOf(IpFamily.V4)!.Value, [new NftRule("ip", "cni_hostport", "hostports", 7, "abc123")]);
        Assert.Equal("""
            add table ip cni_hostport { comment "CNI portmap plugin" ; }
            add chain ip cni_hostport hostports
            add chain ip cni_hostport hostip_hostports
            add chain ip cni_hostport hostports_all
            flush chain ip cni_hostport hostports_all
            add rule ip cni_hostport hostports_all jump hostip_hostports
            add rule ip cni_hostport hostports_all jump hostports
            add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }
            flush chain ip cni_hostport prerouting
            add rule ip cni_hostport prerouting fib daddr type local jump hostports_all
            add chain ip cni_hostport output { type nat hook output priority -100 ; }
            flush chain ip cni_hostport output
            add rule ip cni_hostport output fib daddr type local jump hostports_all
            add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }
            delete rule ip cni_hostport hostports handle 7
            add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.244.1.5:80 comment "abc123"
            add rule ip cni_hostport hostports udp dport 8053 dnat to 10.244.1.5:53 comment "abc123"
            add rule ip cni_hostport hostports ip daddr 192.0.2.1 tcp dport 9090 dnat to 10.244.1.5:90 comment "abc123"
            add rule ip cni_hostport masquerading ip saddr 10.244.1.5 ip daddr 10.244.1.5 masquerade comment "abc123"
            add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.244.1.5 masquerade comment "abc123"

            """.ReplaceLineEndings("\n"), s);
        string v6 = PortmapNftables.RenderAdd(t with { MasqAll = true }, t.AddressOf(IpFamily.V6)!.Value, []);
        Assert.Contains("add rule ip6 cni_hostport hostports tcp dport 8080 dnat to [fd00:10:244:1::5]:80 comment \"abc123\"\n", v6, StringComparison.Ordinal);
        Assert.DoesNotContain("9090", v6, StringComparison.Ordinal);
        Assert.Contains("masquerading ip6 saddr ::/0 ip6 daddr fd00:10:244:1::5 masquerade", v6, StringComparison.Ordinal);
    }

    [Fact]
    public void PortmapNftables_RenderDelete_OnlyThisContainersRules()
    {
        NftRule[] rules =
        [
            new("ip", "cni_hostport", "hostports", 4, "abc123"),
            new("ip", "cni_hostport", "hostports", 5, "other"),
            new("ip", "cni_hostport", "masquerading", 9, "abc123"),
            new("ip", "cni_hostport", "hostports_all", 2, null),
        ];
        Assert.Equal("delete rule ip cni_hostport hostports handle 4\ndelete rule ip cni_hostport masquerading handle 9\n",
            PortmapNftables.RenderDelete(rules, "abc123"));
    }

    [Fact]
    public void NftTool_ParseRules_ReadsHandlesAndComments()
    {
        const string json = """
            {"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
            {"table": {"family": "ip", "name": "cni_hostport", "handle": 1}},
            {"rule": {"family": "ip", "table": "cni_hostport", "chain": "hostports", "handle": 12, "comment": "abc123", "expr": []}},
            {"rule": {"family": "ip", "table": "cni_hostport", "chain": "hostports_all", "handle": 3, "expr": []}}]}
            """;
        Assert.Equal(
            [new NftRule("ip", "cni_hostport", "hostports", 12, "abc123"), new NftRule("ip", "cni_hostport", "hostports_all", 3, null)],
            NftTool.ParseRules(json));
        Assert.Equal("add rule x", NftTool.FailingLine("add table x\nadd rule x\n", "/dev/stdin:2:1-3: Error: syntax error"));
    }

    internal static string AsDump(string script) =>
        // A restore script that only declares and appends is also a valid dump of its result.
        script.Replace("-I POSTROUTING 1 ", "-A POSTROUTING ", StringComparison.Ordinal);
}
