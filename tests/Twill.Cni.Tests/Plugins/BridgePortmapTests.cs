using System.Net;
using System.Text;
using System.Text.Json;
using Twill.Cni.Plugins;
using Twill.Cni.Plugins.Bridge;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Tests;

public class BridgeConfigTests
{
    private static CniInvocation Call(string conf, string? args = null)
    {
        byte[] data = Encoding.UTF8.GetBytes(conf);
        (JsonElement root, string v, string name, string type) = CniInvocation.ParseConfig(data);
        return new CniInvocation { Command = "ADD", StdinData = data, Config = root, CniVersion = v, Name = name, Type = type, Args = CniArgs.Parse(args) };
    }

    [Fact]
    public void Load_Defaults_BridgeCni0AndDefaultGatewayImpliesGateway()
    {
        BridgeConfig c = BridgeConfig.Load(Call("""{"cniVersion":"1.0.0","name":"n","type":"bridge","isDefaultGateway":true}"""));
        Assert.Equal("cni0", c.BridgeName);
        Assert.True(c.IsGateway);
    }

    [Fact]
    public void Load_HairpinAndPromisc_IsRejected()
    {
        CniException e = Assert.Throws<CniException>(() => BridgeConfig.Load(Call("""{"name":"n","type":"bridge","hairpinMode":true,"promiscMode":true}""")));
        Assert.Contains("hairpin mode and promiscuous mode", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MacFromRuntimeConfigBeatsArgs()
    {
        BridgeConfig c = BridgeConfig.Load(Call("""{"name":"n","type":"bridge","runtimeConfig":{"mac":"02:00:00:00:00:02"}}""", "MAC=02:00:00:00:00:01"));
        Assert.Equal("02:00:00:00:00:02", BridgePlugin.Mac(c.Mac));
    }

    [Fact]
    public void BridgeGateways_DefaultGateway_AddsDefaultRouteAndPointsIpsAtContainer()
    {
        BridgeConfig c = BridgeConfig.Load(Call("""{"name":"n","type":"bridge","isDefaultGateway":true}"""));
        BridgeGateways g = BridgeGateways.Compute([new CniIpConfig(InterfaceAddress.Parse("10.244.3.7/24"))], [new CniRoute(InterfaceAddress.Parse("10.244.0.0/16"))], c);
        Assert.Equal("10.244.3.1/24", Assert.Single(g.Gateways).ToString());
        CniIpConfig ip = Assert.Single(g.Ips);
        Assert.Equal(2, ip.Interface);
        Assert.Equal(IPAddress.Parse("10.244.3.1"), ip.Gateway);
        CniRoute route = Assert.Single(g.DefaultRoutes);
        Assert.Equal("0.0.0.0/0", route.Dst.ToString());
        Assert.Equal(IPAddress.Parse("10.244.3.1"), route.Gw);
    }

    [Fact]
    public void BridgeGateways_IpamHasDefaultRouteWithGateway_NoneAdded()
    {
        BridgeConfig c = BridgeConfig.Load(Call("""{"name":"n","type":"bridge","isDefaultGateway":true}"""));
        BridgeGateways g = BridgeGateways.Compute(
            [new CniIpConfig(InterfaceAddress.Parse("10.244.3.7/24")), new CniIpConfig(InterfaceAddress.Parse("10.244.4.7/24"))],
            [new CniRoute(InterfaceAddress.Parse("0.0.0.0/0"), IPAddress.Parse("10.244.3.254"))], c);
        Assert.Empty(g.DefaultRoutes);
        Assert.Equal(["10.244.3.1/24", "10.244.4.1/24"], g.Gateways.Select(a => a.ToString()));
    }

    [Fact]
    public void BridgeGateways_NotGateway_KeepsIpamGatewaysAndTakesNoAddress()
    {
        BridgeConfig c = BridgeConfig.Load(Call("""{"name":"n","type":"bridge","isGateway":false}"""));
        BridgeGateways g = BridgeGateways.Compute([new CniIpConfig(InterfaceAddress.Parse("fd00::7/64"))], [], c);
        Assert.Null(Assert.Single(g.Ips).Gateway);
        Assert.Empty(g.Gateways);
        Assert.Empty(g.DefaultRoutes);
    }

    [Fact]
    public void RandomVethName_IsVethPlusEightHex()
    {
        Assert.Matches("^veth[0-9a-f]{8}$", BridgeHostLinks.RandomVethName());
    }
}

public class PortmapAdapterTests
{
    [Fact]
    public void ContainerAddresses_SkipsHostInterfacesAndTakesFirstPerFamily()
    {
        CniResult prev = new()
        {
            Interfaces = [new CniInterface("cni0"), new CniInterface("veth1"), new CniInterface("eth0", null, "/run/netns/p")],
            Ips =
            [
                new CniIpConfig(InterfaceAddress.Parse("10.0.0.1/24"), null, 0),
                new CniIpConfig(InterfaceAddress.Parse("10.244.3.5/24"), null, 2),
                new CniIpConfig(InterfaceAddress.Parse("10.244.3.6/24"), null, 2),
                new CniIpConfig(InterfaceAddress.Parse("fd00::5/64"), null, 2),
            ],
        };
        var got = PortmapPlugin.ContainerAddresses(prev, "eth0");
        Assert.Equal(["10.244.3.5/24", "fd00::5/64"], got.Select(a => $"{a.Address}/{a.PrefixLength}"));
    }

    private static CniInvocation PortmapCall(string conf)
    {
        byte[] data = Encoding.UTF8.GetBytes(conf);
        (JsonElement root, string v, string name, string type) = CniInvocation.ParseConfig(data);
        return new CniInvocation { Command = "ADD", StdinData = data, Config = root, CniVersion = v, Name = name, Type = type, ContainerId = "c1", IfName = "eth0" };
    }

    [Fact]
    public void Target_ReadsRuntimeConfigAndOptions()
    {
        string conf = """{"cniVersion":"1.0.0","name":"n","type":"portmap","snat":false,"markMasqBit":5,"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"udp"}]}}""";
        byte[] data = Encoding.UTF8.GetBytes(conf);
        (JsonElement root, string v, string name, string type) = CniInvocation.ParseConfig(data);
        CniInvocation call = new() { Command = "ADD", StdinData = data, Config = root, CniVersion = v, Name = name, Type = type, ContainerId = "c1", IfName = "eth0" };
        var t = PortmapPlugin.Target(call, new CniResult { Ips = [new CniIpConfig(InterfaceAddress.Parse("10.244.3.5/24"))] });
        Assert.False(t.Snat);
        Assert.Equal(5, t.MarkMasqBit);
        Assert.Equal(8080, Assert.Single(t.Mappings).HostPort);
        Assert.Equal("udp", t.Mappings[0].Protocol);
    }

    [Theory]
    [InlineData("snat", "\"yes\"")]
    [InlineData("masqAll", "1")]
    public void Target_BooleanOfWrongType_ThrowsInvalidConfigNamingField(string field, string value)
    {
        string conf = $$$"""{"cniVersion":"1.0.0","name":"n","type":"portmap","{{{field}}}":{{{value}}},"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80}]}}""";
        CniInvocation call = PortmapCall(conf);

        CniException e = Assert.Throws<CniException>(() =>
            PortmapPlugin.Target(call, new CniResult { Ips = [new CniIpConfig(InterfaceAddress.Parse("10.244.3.5/24"))] }));

        Assert.Equal(CniErrorCode.InvalidNetworkConfig, e.Code);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Target_MasqAllWithIptables_IgnoredAsReference111()
    {
        CniInvocation call = PortmapCall("""{"cniVersion":"1.0.0","name":"n","type":"portmap","masqAll":true}""");

        var t = PortmapPlugin.Target(call, new CniResult { Ips = [new CniIpConfig(InterfaceAddress.Parse("10.244.3.5/24"))] });

        Assert.False(t.MasqAll);
        Assert.True(t.Snat);
    }

    [Theory]
    [InlineData("10.244.1.7", 24, "10.244.1.255")]
    [InlineData("10.244.0.1", 16, "10.244.255.255")]
    [InlineData("10.244.1.0", 31, null)]
    [InlineData("10.244.1.1", 32, null)]
    [InlineData("fd00::5", 64, null)]
    public void BroadcastOf_Address_LastOfSubnetForIpv4Below31(string address, int prefix, string? expected)
    {
        Assert.Equal(expected, Cidrs.BroadcastOf(IPAddress.Parse(address), prefix)?.ToString());
    }
}
