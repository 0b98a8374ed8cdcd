using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twill.Cni.Plugins.Flannel;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Tests;

public sealed class FlannelTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string FixtureEnv = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

    private static byte[] Derive(string conf, string env)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(conf);
        using JsonDocument doc = JsonDocument.Parse(bytes);
        return FlannelPlugin.DeriveDelegate(FlannelPlugin.ParseObject(bytes), SubnetEnv.Parse(env), "vxlan0", doc.RootElement);
    }

    [Fact]
    public void DeriveDelegate_SeedConfig_EqualsFixture()
    {
        byte[] got = Derive("""{"cniVersion":"1.0.0","name":"vxlan0","type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}}""", FixtureEnv);
        JsonNode expected = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "cni-delegate.linux.json")))!;
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(got)), Encoding.UTF8.GetString(got));
    }

    [Fact]
    public void DeriveDelegate_Bytes_AreGoMarshalOrder()
    {
        byte[] got = Derive("""{"cniVersion":"1.0.0","name":"vxlan0","type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}}""", FixtureEnv);
        Assert.Equal(
            """{"cniVersion":"1.0.0","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.3.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"vxlan0","type":"bridge"}""",
            Encoding.UTF8.GetString(got));
    }

    [Fact]
    public void DeriveDelegate_DelegateKeysWin_AndIpamKeysAreKept()
    {
        byte[] got = Derive("""{"name":"vxlan0","type":"flannel","ipam":{"dataDir":"/x","routes":[{"dst":"192.0.2.0/24"}]},"delegate":{"ipMasq":true,"mtu":1400,"type":"bridge","isGateway":false}}""",
            FixtureEnv.Replace("FLANNEL_IPMASQ=true", "FLANNEL_IPMASQ=false", StringComparison.Ordinal));
        JsonNode d = JsonNode.Parse(got)!;
        Assert.True(d["ipMasq"]!.GetValue<bool>());
        Assert.Equal(1400, d["mtu"]!.GetValue<int>());
        Assert.False(d["isGateway"]!.GetValue<bool>());
        Assert.Null(d["cniVersion"]);
        Assert.Equal("/x", d["ipam"]!["dataDir"]!.GetValue<string>());
        Assert.Equal(2, d["ipam"]!["routes"]!.AsArray().Count);
    }

    [Fact]
    public void DeriveDelegate_DualStack_AddsIPv6RangeAndRoute()
    {
        byte[] got = Derive("""{"name":"vxlan0","type":"flannel"}""",
            FixtureEnv + "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\n");
        JsonNode d = JsonNode.Parse(got)!;
        Assert.Equal("fd00:10:244:3::/64", d["ipam"]!["ranges"]![1]![0]!["subnet"]!.GetValue<string>());
        Assert.Equal("fd00:10:244::/56", d["ipam"]!["routes"]![1]!["dst"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"name":"n","type":"flannel","delegate":{"name":"x"}}""", "must not have 'name'")]
    [InlineData("""{"name":"n","type":"flannel","delegate":{"ipam":{}}}""", "must not have 'ipam'")]
    [InlineData("""{"name":"n","type":"flannel","delegate":{"type":7}}""", "(string) 'type'")]
    public void DeriveDelegate_ForbiddenDelegateKeys_AreConfigErrors(string conf, string message)
    {
        CniException e = Assert.Throws<CniException>(() => Derive(conf, FixtureEnv));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_MissingSubnetEnv_AsksWhetherTheAgentRuns()
    {
        string conf = $$"""{"cniVersion":"1.0.0","name":"vxlan0","type":"flannel","subnetFile":"{{_dir.Path}}/nope.env","dataDir":"{{_dir.Path}}/data"}""";
        Host.Output o = Host.Run(new FlannelPlugin(), "ADD", conf);
        Assert.Equal(1, o.ExitCode);
        Assert.Equal(11, o.Json.GetProperty("code").GetInt32());
        Assert.Contains("is the twill agent running on this node?", o.Json.GetProperty("msg").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n", "is missing FLANNEL_MTU, FLANNEL_IPMASQ")]
    [InlineData("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.99.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n", "is stale")]
    public void LoadSubnetEnv_IncompleteOrStale_IsClearError(string text, string message)
    {
        string path = Path.Combine(_dir.Path, "subnet.env");
        File.WriteAllText(path, text);
        CniException e = Assert.Throws<CniException>(() => FlannelPlugin.LoadSubnetEnv(path));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains("twill agent", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Del_WithoutSavedConfig_Succeeds()
    {
        string conf = $$"""{"cniVersion":"1.0.0","name":"vxlan0","type":"flannel","dataDir":"{{_dir.Path}}/data"}""";
        Assert.Equal(0, Host.Run(new FlannelPlugin(), "DEL", conf).ExitCode);
    }

    [Fact]
    public void Status_WithoutSubnetEnv_IsNotAvailable()
    {
        string conf = $$"""{"cniVersion":"1.1.0","name":"vxlan0","type":"flannel","subnetFile":"{{_dir.Path}}/nope.env"}""";
        Dictionary<string, string> env = new() { ["CNI_COMMAND"] = "STATUS", ["CNI_PATH"] = "/x" };
        Host.Output o = Host.Run(new FlannelPlugin(), env, conf);
        Assert.Equal(50, o.Json.GetProperty("code").GetInt32());
    }

    [Fact]
    public void Add_BeforeTheAgentWroteSubnetEnv_IsTryAgainLater_NamingTheAgent()
    {
        // The runtime retries code 11 instead of failing the pod (flannel-io/flannel #2437: CoreDNS crash-loops).
        string missing = Path.Combine(_dir.Path, "subnet.env");
        Host.Output r = Host.Run(new FlannelPlugin(), "ADD",
            $$$"""{"cniVersion":"1.0.0","name":"vxlan0","type":"flannel","subnetFile":"{{{missing}}}","dataDir":"{{{_dir.Path}}}","delegate":{"hairpinMode":true,"isDefaultGateway":true}}""");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Equal(11, r.Json.GetProperty("code").GetInt32());
        string msg = r.Json.GetProperty("msg").GetString()!;
        Assert.Contains(missing, msg, StringComparison.Ordinal);
        Assert.Contains("agent", msg, StringComparison.OrdinalIgnoreCase);
    }
}
