using System.Text.Json;
using Twill.Core;
using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>Whole agents, dual-stack and IPv6-only, in namespaces: the pod-to-pod data path of each family.</summary>
public class DualStackIpv6LabTests
{
    private const string DualVxlan =
        """{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}""";

    [RootFact]
    public void Agents_DualStackVxlan_PodsPingOverIpv4AndIpv6()
    {
        using AgentLab lab = new(DualVxlan, nodes: 2);

        SubnetEnv env = SubnetEnv.Read(lab.SubnetFile(0));
        string text = File.ReadAllText(lab.SubnetFile(0));
        Assert.Equal(System.Net.IPNetwork.Parse("fd00:10:244::/56"), env.IPv6Network);
        Assert.Equal(64, env.IPv6Subnet!.Value.PrefixLength);
        Assert.Contains("FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:", text, StringComparison.Ordinal);
        Assert.Contains("FLANNEL_MTU=1430\n", text, StringComparison.Ordinal);
        Assert.True(AgentLab.Eventually(() => lab.PingFamily(0, 1, "-6") && lab.PingFamily(1, 0, "-6"), TimeSpan.FromSeconds(30)),
            "ping -6 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        Assert.True(AgentLab.Eventually(() => lab.PingFamily(0, 1, "-4") && lab.PingFamily(1, 0, "-4"), TimeSpan.FromSeconds(30)),
            "ping -4 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        SubnetEnv peer = SubnetEnv.Read(lab.SubnetFile(1));
        string peer6 = $"{peer.IPv6Subnet!.Value.Address.ToString()[..^1]}/64";
        Assert.Equal([peer6], lab.TwillRoutes(0, "-6"));
        Assert.Single(lab.TwillRoutes(0, "-4"));
        JsonElement dev = lab.Nodes[0].IpJson("-d", "link", "show", "flannel-v6.1")[0];
        Assert.Equal("2001:db8::11", dev.GetProperty("linkinfo").GetProperty("info_data").GetProperty("local6").GetString());
        Assert.Equal(1430, dev.GetProperty("mtu").GetInt32());
    }

    [RootFact]
    public void Agents_DualStackIpMasq_Ip6tablesRulesForIpv6NetworkAndPodsStillPing()
    {
        using AgentLab lab = new(DualVxlan, 2, "--ip-masq");

        Assert.True(AgentLab.Eventually(() => lab.PingFamily(0, 1, "-6"), TimeSpan.FromSeconds(30)), "ping -6 failed\n" + lab.Log(0));
        string nat6 = lab.Nodes[0].Exec("ip6tables-save", "-t", "nat").EnsureSuccess("ip6tables-save").Stdout;
        string nat4 = lab.Nodes[0].Exec("iptables-save", "-t", "nat").EnsureSuccess("iptables-save").Stdout;
        Assert.Contains("TWILL-POSTRTG", nat6, StringComparison.Ordinal);
        Assert.Contains("fd00:10:244::/56", nat6, StringComparison.Ordinal);
        Assert.DoesNotContain("10.244.0.0/16", nat6, StringComparison.Ordinal);
        Assert.Contains("10.244.0.0/16", nat4, StringComparison.Ordinal);
        Assert.Contains("FLANNEL_IPMASQ=true", File.ReadAllText(lab.SubnetFile(0)), StringComparison.Ordinal);
    }

    [RootFact]
    public void Agents_Ipv6OnlyVxlan_PodsPingOverIpv6AndNoIpv4Device()
    {
        using AgentLab lab = new(
            """{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}""", nodes: 2);

        string text = File.ReadAllText(lab.SubnetFile(0));
        Assert.DoesNotContain("FLANNEL_NETWORK", text, StringComparison.Ordinal);
        Assert.Contains("FLANNEL_IPV6_SUBNET=fd00:10:244:", text, StringComparison.Ordinal);
        Assert.True(AgentLab.Eventually(() => lab.PingFamily(0, 1, "-6") && lab.PingFamily(1, 0, "-6"), TimeSpan.FromSeconds(30)),
            "ping -6 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        Assert.Empty(lab.TwillRoutes(0, "-4"));
        Assert.NotEqual(0, lab.Nodes[0].Exec("ip", "link", "show", "flannel.1").ExitCode);
        Assert.Equal(0, lab.Nodes[0].Exec("ip", "link", "show", "flannel-v6.1").ExitCode);
    }

    [RootFact]
    public void Agents_DualStackHostGw_PodsPingOverIpv4AndIpv6()
    {
        using AgentLab lab = new(
            """{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"host-gw"}}""", nodes: 2);

        Assert.True(AgentLab.Eventually(() => lab.PingFamily(0, 1, "-6") && lab.PingFamily(1, 0, "-6"), TimeSpan.FromSeconds(30)),
            "ping -6 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        Assert.True(AgentLab.Eventually(() => lab.PingFamily(0, 1, "-4") && lab.PingFamily(1, 0, "-4"), TimeSpan.FromSeconds(30)),
            "ping -4 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        Assert.Contains("FLANNEL_MTU=1500\n", File.ReadAllText(lab.SubnetFile(0)), StringComparison.Ordinal);
    }
}
