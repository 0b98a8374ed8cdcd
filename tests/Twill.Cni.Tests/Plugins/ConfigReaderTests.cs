using System.Text.Json;
using Twill.Cni.Kernel;
using Twill.Cni.Plugins.Bridge;
using Twill.Cni.Plugins.HostLocal;
using Twill.Firewall;

namespace Twill.Cni.Tests;

/// <summary>The configs decoded from the parsed JSON as Go's encoding/json decodes them.</summary>
public class ConfigReaderTests
{
    private static JsonElement Json(string s)
    {
        using JsonDocument d = JsonDocument.Parse(s);
        return d.RootElement.Clone();
    }

    [Fact]
    public void BridgeNetConfReader_KeysAnyCase_DecodedAndUnknownIgnored()
    {
        BridgeNetConf n = BridgeNetConfReader.Read(Json("""
            {"cniVersion":"1.0.0","name":"n","type":"bridge","Bridge":"cni1","ISGATEWAY":true,"isDefaultGateway":true,
             "mtu":1450,"hairpinMode":true,"ipMasq":null,"macspoofchk":true,"enabledad":false,"future":[1,2],
             "ipam":{"type":"host-local","ranges":[]},"dns":{"nameservers":["10.0.0.10"]},
             "runtimeConfig":{"mac":"02:00:00:00:00:01","portMappings":[]},"args":{"cni":{"mac":"02:00:00:00:00:02"}}}
            """));
        Assert.Equal("cni1", n.Bridge);
        Assert.True(n.IsGateway);
        Assert.True(n.IsDefaultGateway);
        Assert.False(n.IpMasq);
        Assert.Equal(1450, n.Mtu);
        Assert.True(n.HairpinMode);
        Assert.True(n.MacSpoofChk);
        Assert.Equal("host-local", n.Ipam?.Type);
        Assert.Equal(JsonValueKind.Object, n.Dns?.ValueKind);
        Assert.Equal("02:00:00:00:00:01", n.RuntimeConfig?.Mac);
        Assert.Equal("02:00:00:00:00:02", n.Args?.Cni?.Mac);
    }

    [Fact]
    public void BridgeNetConfReader_RepeatedKey_LastWins() =>
        Assert.Equal(1400, BridgeNetConfReader.Read(Json("""{"mtu":1500,"MTU":1400}""")).Mtu);

    [Theory]
    [InlineData("""{"mtu":"1500"}""", "$.mtu")]
    [InlineData("""{"isGateway":"yes"}""", "$.isGateway")]
    [InlineData("""{"ipam":[]}""", "$.ipam")]
    [InlineData("""{"runtimeConfig":{"mac":7}}""", "$.runtimeConfig.mac")]
    [InlineData("""{"mtu":1.5}""", "$.mtu")]
    public void BridgeNetConfReader_WrongType_JsonExceptionNamingTheKey(string json, string path)
    {
        JsonException e = Assert.Throws<JsonException>(() => BridgeNetConfReader.Read(Json(json)));
        Assert.Contains("Path: " + path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HostLocalNetConfReader_RangesRoutesAndRequestedIps_Decoded()
    {
        HostLocalNetConf c = HostLocalNetConfReader.Read(Json("""
            {"ipam":{"type":"host-local","dataDir":"/tmp/x","resolvConf":"/etc/r",
                     "ranges":[[{"subnet":"10.244.3.0/24","rangeStart":"10.244.3.10","gateway":"10.244.3.1"}],[{"subnet":"fd00::/64"}]],
                     "routes":[{"dst":"0.0.0.0/0"},{"dst":"10.0.0.0/8","gw":"10.244.3.254","mtu":1400,"table":100}],
                     "subnet":"10.9.0.0/16"},
             "runtimeConfig":{"ips":["10.244.3.7"]},"args":{"cni":{"ips":["10.244.3.8/24"]}}}
            """));
        IpamSection ipam = c.Ipam!;
        Assert.Equal("/tmp/x", ipam.DataDir);
        Assert.Equal("/etc/r", ipam.ResolvConf);
        Assert.Equal("10.9.0.0/16", ipam.SingleRange.Subnet);
        Assert.Equal(2, ipam.Ranges!.Count);
        Assert.Equal("10.244.3.10", ipam.Ranges[0][0].RangeStart);
        Assert.Equal("10.244.3.1", ipam.Ranges[0][0].Gateway);
        Assert.Equal("fd00::/64", ipam.Ranges[1][0].Subnet);
        Assert.Equal("10.244.3.254", ipam.Routes![1].Gw);
        Assert.Equal(1400, ipam.Routes[1].Mtu);
        Assert.Equal(100, ipam.Routes[1].Table);
        Assert.Null(ipam.Routes[0].Mtu);
        Assert.Equal(["10.244.3.7"], c.RuntimeConfig!.Ips!);
        Assert.Equal(["10.244.3.8/24"], c.Args!.Cni!.Ips!);
    }

    [Fact]
    public void HostLocalNetConfReader_NoIpam_NullSection() =>
        Assert.Null(HostLocalNetConfReader.Read(Json("""{"cniVersion":"1.0.0"}""")).Ipam);

    [Theory]
    [InlineData("""{"ipam":{"ranges":[{"subnet":"10.0.0.0/8"}]}}""", "$.ipam.ranges[0]")]
    [InlineData("""{"ipam":{"routes":[{"dst":"0.0.0.0/0","mtu":"9000"}]}}""", "$.ipam.routes[0].mtu")]
    [InlineData("""{"runtimeConfig":{"ips":[1]}}""", "$.runtimeConfig.ips[0]")]
    public void HostLocalNetConfReader_WrongType_JsonExceptionNamingTheKey(string json, string path)
    {
        JsonException e = Assert.Throws<JsonException>(() => HostLocalNetConfReader.Read(Json(json)));
        Assert.Contains("Path: " + path, e.Message, StringComparison.Ordinal);
    }
}
