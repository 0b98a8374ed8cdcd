using System.Net;
using System.Text.Json;
using Twill.Firewall.Iptables;
using Twill.Firewall.Masquerade;
using Twill.Testing;
using Twill.Core;

namespace Twill.Firewall.Tests;

/// <summary>Bridge ipMasq and the agent's masquerade/forward rules, in throw-away namespaces.</summary>
public class MasqueradeRootTests
{
    [RootFact]
    public void BridgeMasquerade_Setup_SameNatTablesAsReferenceBridgeAndTeardownCleansIt()
    {
        Assert.True(Reference.Available("bridge"), "reference bridge missing in /usr/lib/cni");
        using TestNetns pod = new("pod");
        using TestNetns refNode = new("ref");
        using TestNetns ourNode = new("ours");
        string dataDir = Path.Combine(Path.GetTempPath(), "twt-fw-ipam-" + Guid.NewGuid().ToString("N"));
        try
        {
            string config = $$$"""
                {"cniVersion":"1.0.0","name":"mynet","type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,
                 "ipam":{"type":"host-local","dataDir":"{{{dataDir}}}","ranges":[[{"subnet":"10.244.1.0/24"}],[{"subnet":"fd00:10:244:1::/64"}]]}}
                """;
            string result = Reference.Run(refNode, pod, "bridge", "ADD", "abc123", config);
            using JsonDocument doc = JsonDocument.Parse(result);
            List<InterfaceAddress> ips = [.. doc.RootElement.GetProperty("ips").EnumerateArray()
                .Select(i => InterfaceAddress.Parse(i.GetProperty("address").GetString()!))];
            Assert.Equal(2, ips.Count);

            NsenterFirewallRunner ours = new(ourNode.Path);
            BridgeMasquerade.Setup(ips, "mynet", "abc123", ours);
            BridgeMasquerade.Setup(ips, "mynet", "abc123", ours); // repeated ADD: nothing doubles
            foreach (IpFamily f in new[] { IpFamily.V4, IpFamily.V6 })
            {
                string expected = Reference.Nat(refNode, f).Normalized();
                Assert.Contains("CNI-70a29d9dc18bc4d652ea5d59", expected, StringComparison.Ordinal);
                Assert.Equal(expected, Reference.Nat(ourNode, f).Normalized());
            }

            // Ours removes the reference's chain and jump; the reference's DEL removes ours.
            BridgeMasquerade.Teardown("mynet", "abc123", new NsenterFirewallRunner(refNode.Path));
            BridgeMasquerade.Teardown("mynet", "abc123", new NsenterFirewallRunner(refNode.Path));
            Reference.Run(ourNode, pod, "bridge", "DEL", "abc123", config);
            foreach (IpFamily f in new[] { IpFamily.V4, IpFamily.V6 })
            {
                Assert.DoesNotContain("CNI-", Reference.Nat(refNode, f).Normalized(), StringComparison.Ordinal);
                Assert.DoesNotContain("CNI-", Reference.Nat(ourNode, f).Normalized(), StringComparison.Ordinal);
            }
        }
        finally
        {
            if (Directory.Exists(dataDir))
            {
                Directory.Delete(dataDir, recursive: true);
            }
        }
    }

    [RootFact]
    public void NodeFirewall_Apply_RulesAsRenderedResyncRepairsAndRemoveCleans()
    {
        using TestNetns node = new("node");
        NsenterFirewallRunner runner = new(node.Path);
        NodeFirewallConfig config = MasqueradeRenderTests.Config(v6: true);
        NodeFirewall fw = new(config, runner);
        fw.Apply();
        fw.Apply();

        SavedRuleset v4 = Reference.Save(node, IpFamily.V4, null);
        Assert.Equal(NodeFirewall.MasqueradeRules(config.NetworkV4!.Value, config.SubnetV4!.Value, IpFamily.V4, true), v4.Table("nat").Rules(NodeFirewall.PostroutingChain));
        Assert.Equal([NodeFirewall.PostroutingJump], v4.Table("nat").Rules("POSTROUTING"));
        Assert.Equal([NodeFirewall.ForwardJump], v4.Table("filter").Rules("FORWARD"));
        Assert.Equal(NodeFirewall.ForwardRules(config.NetworkV4!.Value), v4.Table("filter").Rules(NodeFirewall.ForwardChain));
        SavedRuleset v6 = Reference.Save(node, IpFamily.V6, null);
        Assert.Equal(NodeFirewall.MasqueradeRules(config.NetworkV6!.Value, config.SubnetV6!.Value, IpFamily.V6, true), v6.Table("nat").Rules(NodeFirewall.PostroutingChain));

        Assert.False(fw.Resync());
        node.Exec("iptables", "-t", "nat", "-D", NodeFirewall.PostroutingChain, "5").EnsureSuccess("iptables -D");
        node.Exec("ip6tables", "-D", "FORWARD", "1").EnsureSuccess("ip6tables -D");
        Assert.True(fw.Resync());
        Assert.Equal(v4.Table("nat").Normalized(), Reference.Save(node, IpFamily.V4, "nat").Table("nat").Normalized());
        Assert.Equal(v6.Table("filter").Normalized(), Reference.Save(node, IpFamily.V6, "filter").Table("filter").Normalized());
        Assert.False(fw.Resync());

        NodeFirewall.Remove(runner);
        NodeFirewall.Remove(runner);
        foreach (IpFamily f in new[] { IpFamily.V4, IpFamily.V6 })
        {
            SavedRuleset after = Reference.Save(node, f, null);
            Assert.All(after.Tables, t => Assert.DoesNotContain("TWILL", t.Normalized(), StringComparison.Ordinal));
        }
    }

    [RootFact]
    public void NodeFirewall_ReapplyWhileReading_RulesNeverMissing()
    {
        using TestNetns node = new("node");
        NsenterFirewallRunner runner = new(node.Path);
        NodeFirewall fw = new(MasqueradeRenderTests.Config(), runner);
        fw.Apply();

        using CancellationTokenSource stop = new();
        int snapshots = 0;
        List<string> bad = [];
        Task reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                SavedTable nat = Reference.Nat(node, IpFamily.V4);
                snapshots++;
                if (nat.Rules(NodeFirewall.PostroutingChain).Count != 6 || nat.Rules("POSTROUTING").Count != 1)
                {
                    bad.Add(nat.Normalized());
                }
            }
        });
        for (int i = 0; i < 20; i++)
        {
            fw.Apply(); // forced flush + refill every time
        }
        stop.Cancel();
        reader.Wait();
        Assert.True(snapshots >= 5, $"only {snapshots} snapshots taken");
        Assert.Empty(bad);
    }

    [RootFact]
    public void NodeFirewall_Traffic_PodToWorldMasqueradedPodToPodNot()
    {
        using TestNetns pod = new("pod");
        using TestNetns node = new("node");
        using TestNetns world = new("world");
        // pod (10.244.1.2) -- node (10.244.1.1 | 203.0.113.1) -- world (203.0.113.2, and 10.244.2.2 standing in for another node's pod)
        Lab.Wire(pod, node, world);

        new NodeFirewall(MasqueradeRenderTests.Config(), new NsenterFirewallRunner(node.Path)).Apply();

        Assert.Equal("203.0.113.1", Lab.SourceSeenBy(world, "203.0.113.2", 9001, pod, "203.0.113.2", 9001));
        Assert.Equal("10.244.1.2", Lab.SourceSeenBy(world, "10.244.2.2", 9002, pod, "10.244.2.2", 9002));
    }

    [RootFact]
    public void NodeFirewall_Nftables_TableAppliedResyncRepairsRemoveDeletes()
    {
        using TestNetns node = new("node");
        NsenterFirewallRunner runner = new(node.Path);
        // The node ran with iptables before: switching to nftables removes those chains.
        new NodeFirewall(MasqueradeRenderTests.Config(v6: true), runner).Apply();
        NodeFirewall fw = new(MasqueradeRenderTests.Config(v6: true), runner, NodeFirewallBackend.Nftables);
        fw.Apply();
        fw.Apply();
        foreach (IpFamily f in new[] { IpFamily.V4, IpFamily.V6 })
        {
            Assert.All(Reference.Save(node, f, null).Tables, t => Assert.DoesNotContain("TWILL", t.Normalized(), StringComparison.Ordinal));
        }
        JsonElement listing = Reference.NftJson(node, "list", "table", "inet", NodeFirewall.NftTable);
        List<JsonElement> rules = [.. Reference.NftRules(listing)];
        Assert.Equal(11, rules.Count(r => r.GetProperty("chain").GetString() == "postrtg"));
        Assert.Equal(4, rules.Count(r => r.GetProperty("chain").GetString() == "forward"));
        string text = node.Exec("nft", "list", "chain", "inet", NodeFirewall.NftTable, "postrtg").Stdout;
        Assert.Contains("ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random", text, StringComparison.Ordinal);

        Assert.False(fw.Resync());
        long handle = rules.First(r => r.GetProperty("chain").GetString() == "forward").GetProperty("handle").GetInt64();
        node.Exec("nft", "delete", "rule", "inet", NodeFirewall.NftTable, "forward", "handle", handle.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess("nft delete");
        Assert.True(fw.Resync());
        Assert.Equal(4, Reference.NftRules(Reference.NftJson(node, "list", "table", "inet", NodeFirewall.NftTable)).Count(r => r.GetProperty("chain").GetString() == "forward"));
        Assert.False(fw.Resync());

        // And back: the iptables backend drops the nft table.
        new NodeFirewall(MasqueradeRenderTests.Config(), runner).Apply();
        Assert.NotEqual(0, node.Exec("nft", "list", "table", "inet", NodeFirewall.NftTable).ExitCode);
        NodeFirewall.Remove(runner);
        Assert.NotEqual(0, node.Exec("nft", "list", "table", "inet", NodeFirewall.NftTable).ExitCode);
        Assert.DoesNotContain("TWILL", Reference.Save(node, IpFamily.V4, "nat").Table("nat").Normalized(), StringComparison.Ordinal);
    }

    [RootFact]
    public void NodeFirewall_Nftables_Traffic_PodToWorldMasqueraded()
    {
        // Same wiring as the iptables test, with the nft table doing the work.
        using TestNetns pod = new("pod");
        using TestNetns node = new("node");
        using TestNetns world = new("world");
        Lab.Wire(pod, node, world);

        new NodeFirewall(MasqueradeRenderTests.Config(), new NsenterFirewallRunner(node.Path), NodeFirewallBackend.Nftables).Apply();

        Assert.Equal("203.0.113.1", Lab.SourceSeenBy(world, "203.0.113.2", 9003, pod, "203.0.113.2", 9003));
        Assert.Equal("10.244.1.2", Lab.SourceSeenBy(world, "10.244.2.2", 9004, pod, "10.244.2.2", 9004));
    }
}
