using System.Net;
using System.Text;
using System.Text.Json;
using Twill.Cni.Plugins.HostLocal;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Tests;

public class ResultWriterTests
{
    private static CniResult Sample() => new()
    {
        Interfaces = [new CniInterface("cni0", "aa:bb:cc:dd:ee:ff"), new CniInterface("eth0", "02:00:00:00:00:01", "/var/run/netns/p")],
        Ips = [new CniIpConfig(InterfaceAddress.Parse("10.244.3.2/24"), IPAddress.Parse("10.244.3.1"), 1)],
        Routes = [new CniRoute(InterfaceAddress.Parse("10.244.0.0/16")), new CniRoute(InterfaceAddress.Parse("0.0.0.0/0"), IPAddress.Parse("10.244.3.1")) { Mtu = 1400 }],
    };

    [Fact]
    public void ToJson_V100_MatchesReferenceLayout()
    {
        string json = Encoding.UTF8.GetString(ResultWriter.ToJson(new CniResult
        {
            Ips = [new CniIpConfig(InterfaceAddress.Parse("10.244.3.2/24"), IPAddress.Parse("10.244.3.1"))],
            Routes = [new CniRoute(InterfaceAddress.Parse("10.244.0.0/16"))],
        }, "1.0.0"));
        // Byte for byte what the reference host-local prints (Go MarshalIndent, four spaces, no newline).
        const string expected = "{\n    \"cniVersion\": \"1.0.0\",\n    \"ips\": [\n        {\n            \"address\": \"10.244.3.2/24\",\n            \"gateway\": \"10.244.3.1\"\n        }\n    ],\n    \"routes\": [\n        {\n            \"dst\": \"10.244.0.0/16\"\n        }\n    ],\n    \"dns\": {}\n}";
        Assert.Equal(expected, json);
    }

    [Fact]
    public void ToJson_V040_AddsIpVersionAndDropsRouteMtu()
    {
        JsonElement e = Parse(ResultWriter.ToJson(Sample(), "0.4.0"));
        JsonElement ip = e.GetProperty("ips")[0];
        Assert.Equal("4", ip.GetProperty("version").GetString());
        Assert.Equal(1, ip.GetProperty("interface").GetInt32());
        Assert.False(e.GetProperty("routes")[1].TryGetProperty("mtu", out _));
        Assert.Equal("/var/run/netns/p", e.GetProperty("interfaces")[1].GetProperty("sandbox").GetString());
    }

    [Fact]
    public void ToJson_V110_KeepsRouteMtu()
    {
        JsonElement e = Parse(ResultWriter.ToJson(Sample(), "1.1.0"));
        Assert.Equal(1400, e.GetProperty("routes")[1].GetProperty("mtu").GetInt32());
        Assert.False(e.GetProperty("ips")[0].TryGetProperty("version", out _));
    }

    [Fact]
    public void ToJson_V020_FilesRoutesUnderIp4()
    {
        JsonElement e = Parse(ResultWriter.ToJson(Sample(), "0.2.0"));
        Assert.Equal("10.244.3.2/24", e.GetProperty("ip4").GetProperty("ip").GetString());
        Assert.Equal(2, e.GetProperty("ip4").GetProperty("routes").GetArrayLength());
        Assert.False(e.TryGetProperty("interfaces", out _));
        Assert.False(e.TryGetProperty("ip6", out _));
    }

    [Fact]
    public void ToJson_V020WithoutAddresses_Throws()
    {
        CniException e = Assert.Throws<CniException>(() => ResultWriter.ToJson(new CniResult(), "0.2.0"));
        Assert.Contains("no valid IP addresses", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.2.0")]
    [InlineData("0.3.1")]
    [InlineData("1.0.0")]
    public void Read_OfWrittenResult_RoundTrips(string version)
    {
        byte[] json = ResultWriter.ToJson(Sample(), version);
        CniResult back = ResultReader.Read(Parse(json));
        Assert.Equal("10.244.3.2/24", back.Ips[0].Address.ToString());
        Assert.Equal(IPAddress.Parse("10.244.3.1"), back.Ips[0].Gateway);
        Assert.Equal(2, back.Routes.Count);
        Assert.Equal("0.0.0.0/0", back.Routes[1].Dst.ToString());
    }

    private static JsonElement Parse(byte[] json)
    {
        using JsonDocument d = JsonDocument.Parse(json);
        return d.RootElement.Clone();
    }
}

public class CniArgsTests
{
    [Fact]
    public void Parse_Pairs_ReadsValues()
    {
        CniArgs a = CniArgs.Parse("IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.1.1.5");
        Assert.Equal("web", a.Get("K8S_POD_NAME"));
        Assert.Equal("10.1.1.5", a.Get("IP"));
        Assert.True(a.IgnoreUnknown);
        a.RequireKnown("IP");
    }

    [Fact]
    public void RequireKnown_UnknownKeyWithoutIgnoreUnknown_IsInvalidEnvironment()
    {
        CniException e = Assert.Throws<CniException>(() => CniArgs.Parse("K8S_POD_NAME=web").RequireKnown("IP"));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Contains("K8S_POD_NAME", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PairWithoutEquals_IsInvalidEnvironment()
    {
        CniException e = Assert.Throws<CniException>(() => CniArgs.Parse("A=1;broken"));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
    }
}

public class PluginHostTests
{
    private static string Conf(string version) =>
        $$$"""{"cniVersion":"{{{version}}}","name":"n1","type":"host-local","ipam":{"type":"host-local","subnet":"10.9.0.0/24","dataDir":"/nonexistent-twill"}}""";

    [Fact]
    public void Run_Version_PrintsSupportedVersions()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" }, "");
        Assert.Equal(0, o.ExitCode);
        Assert.Equal("""{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}""", o.Stdout);
    }

    [Fact]
    public void Run_MissingEnvironment_IsCode4ListingVariables()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), new Dictionary<string, string> { ["CNI_COMMAND"] = "ADD" }, Conf("1.0.0"));
        Assert.Equal(1, o.ExitCode);
        Assert.Equal(4, o.Json.GetProperty("code").GetInt32());
        Assert.Equal("required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing", o.Json.GetProperty("msg").GetString());
    }

    [Fact]
    public void Run_DelWithoutNetns_IsAllowed()
    {
        Dictionary<string, string> env = new() { ["CNI_COMMAND"] = "DEL", ["CNI_CONTAINERID"] = "c", ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = "/x" };
        PluginHost.CheckEnvironment("DEL", env);
    }

    [Fact]
    public void Run_BadJson_IsCode6()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), "ADD", "{bad");
        Assert.Equal(6, o.Json.GetProperty("code").GetInt32());
    }

    [Fact]
    public void Run_UnknownVersion_IsCode1WithDetails()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), "ADD", Conf("9.9.9"));
        Assert.Equal(1, o.Json.GetProperty("code").GetInt32());
        Assert.Equal("incompatible CNI versions", o.Json.GetProperty("msg").GetString());
        Assert.Contains("config is \"9.9.9\"", o.Json.GetProperty("details").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_CheckOnOldVersion_IsCode1()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), "CHECK", Conf("0.3.1"));
        Assert.Equal(1, o.Json.GetProperty("code").GetInt32());
    }

    [Fact]
    public void Run_GcOnV100_IsCode1()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), "GC", Conf("1.0.0"));
        Assert.Equal(1, o.Json.GetProperty("code").GetInt32());
    }

    [Fact]
    public void Run_UnknownCommand_IsCode4()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), "FROB", Conf("1.0.0"));
        Assert.Equal(4, o.Json.GetProperty("code").GetInt32());
    }

    [Theory]
    [InlineData("bad/id", "c")]
    [InlineData("-x", "c")]
    [InlineData("c1", "this-name-is-way-too-long")]
    [InlineData("c1", "eth:0")]
    public void Run_InvalidContainerIdOrIfName_IsCode4(string id, string ifName)
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), "ADD", Conf("1.0.0"), containerId: id, ifName: ifName);
        Assert.Equal(4, o.Json.GetProperty("code").GetInt32());
    }

    [Fact]
    public void Run_MissingName_IsCode7()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), "ADD", """{"cniVersion":"1.0.0","type":"host-local"}""");
        Assert.Equal(7, o.Json.GetProperty("code").GetInt32());
    }

    [Fact]
    public void Run_NoCommand_PrintsAboutAndSucceeds()
    {
        Host.Output o = Host.Run(new HostLocalPlugin(), new Dictionary<string, string>(), "");
        Assert.Equal(0, o.ExitCode);
        Assert.Contains("CNI protocol versions supported", o.Stderr, StringComparison.Ordinal);
    }
}
