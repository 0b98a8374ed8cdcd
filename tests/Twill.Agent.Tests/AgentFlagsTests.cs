using System.Net;
using Twill.Agent.Store;

namespace Twill.Agent.Tests;

public class AgentFlagsTests
{
    private static readonly Dictionary<string, string> NoEnv = [];

    [Fact]
    public void Parse_FlannelStyleCommandLine_AllForms()
    {
        AgentOptions o = AgentFlags.Parse(["--iface", "eth0", "-iface=eth1", "--ip-masq", "--public-ip=192.0.2.9",
            "--healthz-port", "8471", "--subnet-lease-renew-margin", "30", "--resync-period", "500ms"], NoEnv);

        Assert.Equal(["eth0", "eth1"], o.Ifaces);
        Assert.True(o.IpMasq);
        Assert.Equal(IPAddress.Parse("192.0.2.9"), o.PublicIP);
        Assert.Equal(8471, o.HealthzPort);
        Assert.Equal(TimeSpan.FromMinutes(30), o.SubnetLeaseRenewMargin);
        Assert.Equal(TimeSpan.FromMilliseconds(500), o.ResyncPeriod);
    }

    [Fact]
    public void Parse_Defaults_FlannelPaths()
    {
        AgentOptions o = AgentFlags.Parse([], NoEnv);

        Assert.Equal("/run/flannel/subnet.env", o.SubnetFile);
        Assert.Equal("/etc/kube-flannel/net-conf.json", o.NetConfigPath);
        Assert.Equal(IPAddress.Loopback, o.HealthzIP);
        Assert.Equal(0, o.HealthzPort);
        Assert.Equal(TimeSpan.FromSeconds(10), o.ResyncPeriod);
        Assert.False(o.IpMasq);
        Assert.True(o.IptablesForwardRules);
    }

    [Fact]
    public void Parse_Environment_FillsFlagsNotGiven()
    {
        Dictionary<string, string> env = new() { ["TWILL_IFACE"] = "eth9,eth8", ["TWILL_PUBLIC_IP"] = "192.0.2.7", ["TWILL_IP_MASQ"] = "true", ["TWILL_SUBNET_FILE"] = "/x" };

        AgentOptions o = AgentFlags.Parse(["--subnet-file", "/given"], env);

        Assert.Equal(["eth9", "eth8"], o.Ifaces);
        Assert.Equal(IPAddress.Parse("192.0.2.7"), o.PublicIP);
        Assert.True(o.IpMasq);
        Assert.Equal("/given", o.SubnetFile);
    }

    [Fact]
    public void Parse_EtcdEndpoints_ImpliesEtcdStore()
    {
        AgentOptions o = AgentFlags.Parse(["--etcd-endpoints=http://192.0.2.1:2379,http://192.0.2.2:2379", "--etcd-prefix", "/p"], NoEnv);

        Assert.Equal(StoreKind.Etcd, o.LeaseStore.Kind);
        Assert.Equal(2, o.LeaseStore.Etcd.Endpoints.Count);
        Assert.Equal("/p", o.LeaseStore.Etcd.Prefix);
    }

    [Theory]
    [InlineData("--bogus", "bogus")]
    [InlineData("--healthz-port=70000", "healthz-port")]
    [InlineData("--public-ip=nope", "nope")]
    [InlineData("--ip-masq=maybe", "maybe")]
    [InlineData("--iface", "needs a value")]
    public void Parse_BadInput_ErrorNamesFlagOrValue(string arg, string named)
    {
        FormatException e = Assert.Throws<FormatException>(() => AgentFlags.Parse([arg], NoEnv));

        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }
}
