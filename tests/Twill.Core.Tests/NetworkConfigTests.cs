using System.Net;
using Twill.Core;

namespace Twill.Core.Tests;

public class NetworkConfigTests
{
    private static string Fixture(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "flannel", name));

    private static NetworkConfig Parse(string json) => NetworkConfig.Parse(json, out _);

    private static IReadOnlyList<string> Errors(string json) =>
        Assert.Throws<NetworkConfigException>(() => NetworkConfig.Parse(json, out _)).Messages;

    [Fact]
    public void Parse_VxlanWindowsFixture_IsWhatFlannelMakesOfIt()
    {
        NetworkConfig config = NetworkConfig.Parse(Fixture("net-conf.vxlan-windows.json"), out IReadOnlyList<string> warnings);

        Assert.Empty(warnings);
        Assert.True(config.EnableIPv4);
        Assert.False(config.EnableIPv6);
        Assert.False(config.EnableNFTables);
        Assert.Equal(IPNetwork.Parse("10.244.0.0/16"), config.Network);
        Assert.Equal(24, config.SubnetLen);
        Assert.Equal(IPAddress.Parse("10.244.1.0"), config.SubnetMin);
        Assert.Equal(IPAddress.Parse("10.244.255.0"), config.SubnetMax);
        VxlanBackendConfig vxlan = Assert.IsType<VxlanBackendConfig>(config.Backend);
        Assert.Equal(4096, vxlan.Vni);
        Assert.Equal(4789, vxlan.Port);
        Assert.Equal(0, vxlan.Mtu);
        Assert.False(vxlan.Gbp);
        Assert.False(vxlan.Learning);
        Assert.False(vxlan.DirectRouting);
        Assert.Equal((UInt128)255, config.IPv4Pool!.Count);
        Assert.Null(config.IPv6Pool);
    }

    [Fact]
    public void Parse_HostGwFixture_IsWhatFlannelMakesOfIt()
    {
        NetworkConfig config = NetworkConfig.Parse(Fixture("net-conf.host-gw.json"), out IReadOnlyList<string> warnings);

        Assert.Empty(warnings);
        Assert.IsType<HostGwBackendConfig>(config.Backend);
        Assert.Equal("host-gw", config.Backend.Type);
        Assert.Equal(24, config.SubnetLen);
        Assert.Equal(IPAddress.Parse("10.244.1.0"), config.SubnetMin);
        Assert.Equal(IPAddress.Parse("10.244.255.0"), config.SubnetMax);
    }

    [Fact]
    public void Parse_DualStackFixture_IsWhatFlannelMakesOfIt()
    {
        NetworkConfig config = NetworkConfig.Parse(Fixture("net-conf.dualstack.json"), out IReadOnlyList<string> warnings);

        Assert.Empty(warnings);
        Assert.True(config.EnableIPv4);
        Assert.True(config.EnableIPv6);
        Assert.Equal(IPAddress.Parse("10.244.10.0"), config.SubnetMin);
        Assert.Equal(IPAddress.Parse("10.244.99.0"), config.SubnetMax);
        Assert.Equal((UInt128)90, config.IPv4Pool!.Count);
        Assert.Equal(IPNetwork.Parse("fd00:10:244::/56"), config.IPv6Network);
        Assert.Equal(64, config.IPv6SubnetLen);
        Assert.Equal(IPAddress.Parse("fd00:10:244:1::"), config.IPv6SubnetMin);
        Assert.Equal(IPAddress.Parse("fd00:10:244:ff::"), config.IPv6SubnetMax);
        Assert.Equal((UInt128)255, config.IPv6Pool!.Count);
        Assert.Equal(4096, Assert.IsType<VxlanBackendConfig>(config.Backend).Vni);
    }

    [Fact]
    public void Parse_VxlanWithoutOptions_HasFlannelDefaults()
    {
        VxlanBackendConfig vxlan = Assert.IsType<VxlanBackendConfig>(
            Parse("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}""").Backend);

        Assert.Equal(1, vxlan.Vni);
        Assert.Equal(0, vxlan.Port);
        Assert.Equal(0, vxlan.Mtu);
        Assert.Equal("0E-2A", vxlan.MacPrefix);
    }

    [Fact]
    public void Parse_EveryVxlanOption_IsRead()
    {
        VxlanBackendConfig vxlan = Assert.IsType<VxlanBackendConfig>(Parse(
            """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":7,"Port":4789,"MTU":1400,"GBP":true,"Learning":true,"DirectRouting":true,"MacPrefix":"0E-2B"}}""").Backend);

        Assert.Equal(new VxlanBackendConfig { Vni = 7, Port = 4789, Mtu = 1400, Gbp = true, Learning = true, DirectRouting = true, MacPrefix = "0E-2B" }, vxlan);
    }

    [Fact]
    public void Parse_KeysInOtherCases_MatchAsGoDoes()
    {
        NetworkConfig config = Parse(
            """{"network":"10.244.0.0/16","SUBNETLEN":26,"subnetmin":"10.244.0.64","enableipv6":false,"backend":{"type":"vxlan","vni":4096,"port":4789,"directrouting":true}}""");

        Assert.Equal(26, config.SubnetLen);
        Assert.Equal(IPAddress.Parse("10.244.0.64"), config.SubnetMin);
        Assert.Equal(IPAddress.Parse("10.244.255.192"), config.SubnetMax);
        VxlanBackendConfig vxlan = Assert.IsType<VxlanBackendConfig>(config.Backend);
        Assert.Equal(4096, vxlan.Vni);
        Assert.True(vxlan.DirectRouting);
    }

    [Fact]
    public void Parse_UnknownKeys_AreWarningsNamingThem()
    {
        NetworkConfig config = NetworkConfig.Parse(
            """{"Network":"10.244.0.0/16","SubnetLength":24,"Backend":{"Type":"vxlan","VNl":4096}}""",
            out IReadOnlyList<string> warnings);

        Assert.Equal(1, Assert.IsType<VxlanBackendConfig>(config.Backend).Vni);
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("unknown key \"SubnetLength\"", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("unknown key \"Backend.VNl\"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(16, 24)]
    [InlineData(22, 24)]
    [InlineData(23, 25)]
    [InlineData(26, 28)]
    [InlineData(28, 30)]
    public void Parse_NoSubnetLen_DerivesFlannelsDefault(int prefix, int expected)
    {
        NetworkConfig config = Parse($$$"""{"Network":"10.244.0.0/{{{prefix}}}","Backend":{"Type":"host-gw"}}""");
        Assert.Equal(expected, config.SubnetLen);
        // The first subnet is skipped; the last one is used.
        Assert.Equal(SubnetMath.NthSubnet(config.Network!.Value, expected, 1).BaseAddress, config.SubnetMin);
        Assert.Equal(SubnetMath.NthSubnet(config.Network!.Value, expected, SubnetMath.SubnetCount(config.Network!.Value, expected) - 1).BaseAddress, config.SubnetMax);
    }

    [Theory]
    [InlineData(56, 64)]
    [InlineData(62, 64)]
    [InlineData(63, 65)]
    [InlineData(124, 126)]
    public void Parse_NoIPv6SubnetLen_DerivesFlannelsDefault(int prefix, int expected)
    {
        NetworkConfig config = Parse($$$"""{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/{{{prefix}}}","Backend":{"Type":"host-gw"}}""");
        Assert.Equal(expected, config.IPv6SubnetLen);
        Assert.Null(config.IPv4Pool);
        Assert.Equal(SubnetMath.SubnetCount(config.IPv6Network!.Value, expected) - 1, config.IPv6Pool!.Count);
    }

    [Theory]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"SubnetMin":"10.245.0.0"}""", "net-conf.json: SubnetMin 10.245.0.0 is outside Network 10.244.0.0/16")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"SubnetMax":"10.243.255.0"}""", "net-conf.json: SubnetMax 10.243.255.0 is outside Network 10.244.0.0/16")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"SubnetMin":"10.244.3.128"}""", "net-conf.json: SubnetMin 10.244.3.128 is not on a /24 boundary")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"SubnetMin":"10.244.9.0","SubnetMax":"10.244.8.0"}""", "net-conf.json: SubnetMin 10.244.9.0 is after SubnetMax 10.244.8.0")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"SubnetLen":31}""", "net-conf.json: SubnetLen 31 is too long: the longest is /30")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"SubnetLen":17}""", "net-conf.json: SubnetLen 17 leaves Network 10.244.0.0/16 fewer than four subnets")]
    [InlineData("""{"Network":"10.244.0.0/29","Backend":{"Type":"vxlan"}}""", "net-conf.json: Network 10.244.0.0/29 is too small: the smallest usable network is /28")]
    [InlineData("""{"Network":"10.244.0.1/16","Backend":{"Type":"vxlan"}}""", "net-conf.json: Network 10.244.0.1/16 has host bits set (did you mean 10.244.0.0/16?)")]
    [InlineData("""{"Network":"fd00::/56","Backend":{"Type":"vxlan"}}""", "net-conf.json: Network fd00::/56 is not an IPv4 network")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"SubnetMin":"banana"}""", "net-conf.json: SubnetMin banana is not an IPv4 address")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"SubnetLen":"24"}""", "net-conf.json: SubnetLen 24 is not a whole number from 0 to 32")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"EnableIPv6":"yes"}""", "net-conf.json: EnableIPv6 yes is not true or false")]
    [InlineData("""{"Backend":{"Type":"vxlan"}}""", "net-conf.json: Network is missing")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"EnableIPv6":true}""", "net-conf.json: IPv6Network is missing but EnableIPv6 is true")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"EnableIPv6":true,"IPv6Network":"fd00::/125"}""", "net-conf.json: IPv6Network fd00::/125 is too small: the smallest usable network is /124")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"EnableIPv6":true,"IPv6Network":"fd00::/56","IPv6SubnetLen":127}""", "net-conf.json: IPv6SubnetLen 127 is too long: the longest is /126")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"EnableIPv6":true,"IPv6Network":"fd00::/56","IPv6SubnetMin":"fd01::"}""", "net-conf.json: IPv6SubnetMin fd01:: is outside IPv6Network fd00::/56")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"},"EnableIPv6":true,"IPv6Network":"fd00::/56","IPv6SubnetMax":"fd00:0:0:5::1"}""", "net-conf.json: IPv6SubnetMax fd00:0:0:5::1 is not on a /64 boundary")]
    [InlineData("""{"Network":"10.244.0.0/16","EnableIPv4":false}""", "net-conf.json: EnableIPv4 false and EnableIPv6 false")]
    [InlineData("""{"Network":"10.244.0.0/16"}""", "net-conf.json: Backend is missing; set \"Backend\": {\"Type\": ...} to one of vxlan, host-gw")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{}}""", "net-conf.json: Backend.Type is missing; set it to one of vxlan, host-gw")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}""", "net-conf.json: Backend.Type \"udp\" is a Flannel backend not supported by Twill; use one of vxlan, host-gw")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard"}}""", "Backend.Type \"wireguard\" is a Flannel backend not supported by Twill")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"carrier-pigeon"}}""", "Backend.Type \"carrier-pigeon\" is not a known backend type; use one of vxlan, host-gw")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":"vxlan"}""", "net-conf.json: Backend vxlan is not an object with a Type")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":16777216}}""", "net-conf.json: Backend.VNI 16777216 is not a whole number from 1 to 16777215")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":0}}""", "net-conf.json: Backend.VNI 0 is not a whole number from 1 to 16777215")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","Port":70000}}""", "net-conf.json: Backend.Port 70000 is not a whole number from 0 to 65535")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","MTU":60}}""", "net-conf.json: Backend.MTU 60 is below the IPv4 minimum MTU 68")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","GBP":1}}""", "net-conf.json: Backend.GBP 1 is not true or false")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","MacPrefix":"0E2A"}}""", "net-conf.json: Backend.MacPrefix 0E2A is not of the form xx-xx")]
    [InlineData("""["Network"]""", "net-conf.json: expected a JSON object")]
    [InlineData("""{"Network":"10.244.0.0/16",""", "net-conf.json: not valid JSON")]
    public void Parse_RuleBroken_ErrorNamesFieldAndValue(string json, string expected)
    {
        IReadOnlyList<string> errors = Errors(json);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOneAtOnce()
    {
        NetworkConfigException e = Assert.Throws<NetworkConfigException>(() => NetworkConfig.Parse(
            """{"Network":"10.244.0.0/16","SubnetMin":"10.245.0.0","SubnetMax":"10.244.3.7","EnableIPv6":true,"Backend":{"Type":"udp"}}""",
            out _, "/etc/kube-flannel/net-conf.json"));

        Assert.Equal(4, e.Errors.Count);
        Assert.Equal(["Backend", "IPv6Network", "SubnetMax", "SubnetMin"], e.Errors.Select(x => x.Field).Order(StringComparer.Ordinal));
        Assert.All(e.Errors, x => Assert.Equal("/etc/kube-flannel/net-conf.json", x.Source));
        Assert.All(e.Messages, m => Assert.StartsWith("/etc/kube-flannel/net-conf.json: ", m, StringComparison.Ordinal));
        Assert.Contains(e.Messages, m => m.Contains("Backend.Type \"udp\"", StringComparison.Ordinal));
        Assert.Contains(e.Messages, m => m.Contains("SubnetMin 10.245.0.0 is outside Network 10.244.0.0/16", StringComparison.Ordinal));
        Assert.Contains(e.Messages, m => m.Contains("SubnetMax 10.244.3.7 is not on a /24 boundary", StringComparison.Ordinal));
        Assert.Contains(e.Messages, m => m.Contains("IPv6Network is missing", StringComparison.Ordinal));
        Assert.Equal(string.Join(Environment.NewLine, e.Messages), e.Message);
    }

    [Theory]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":0}}""", "Backend.VNI")]
    [InlineData("""{"Network":"10.244.0.0/16","SubnetLen":31,"Backend":{"Type":"vxlan"}}""", "SubnetLen")]
    [InlineData("""{"Network":"10.244.0.0/16"}""", "Backend")]
    [InlineData("""[1]""", null)]
    public void Parse_OneProblem_ErrorNamesItsField(string json, string? field)
    {
        NetworkConfigException e = Assert.Throws<NetworkConfigException>(() => NetworkConfig.Parse(json, out _));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal(field, error.Field);
        Assert.Equal("net-conf.json", error.Source);
        Assert.Equal($"net-conf.json: {error.Message}", error.ToString());
    }

    [Fact]
    public void Parse_BadNetwork_DoesNotAlsoSayMissing()
    {
        IReadOnlyList<string> errors = Errors("""{"Network":"10.244.0.0","Backend":{"Type":"vxlan"}}""");
        Assert.Equal(["net-conf.json: Network 10.244.0.0 is not a CIDR (expected e.g. 10.244.0.0/16)"], errors);
    }

    [Fact]
    public void Parse_NullValues_LeaveDefaults()
    {
        NetworkConfig config = Parse("""{"Network":"10.244.0.0/16","SubnetLen":null,"EnableIPv4":null,"Backend":{"Type":"vxlan","VNI":null}}""");
        Assert.True(config.EnableIPv4);
        Assert.Equal(24, config.SubnetLen);
        Assert.Equal(1, Assert.IsType<VxlanBackendConfig>(config.Backend).Vni);
    }

    [Fact]
    public void Parse_SmallestNetwork_HandsOutThreeSubnets()
    {
        NetworkConfig config = Parse("""{"Network":"10.244.0.0/28","Backend":{"Type":"host-gw"}}""");
        Assert.Equal(30, config.SubnetLen);
        Assert.Equal([IPNetwork.Parse("10.244.0.4/30"), IPNetwork.Parse("10.244.0.8/30"), IPNetwork.Parse("10.244.0.12/30")], config.IPv4Pool!.Subnets());
    }

    [Fact]
    public void ToJson_ParsesBackToTheSameConfig()
    {
        foreach (string fixture in new[] { "net-conf.vxlan-windows.json", "net-conf.host-gw.json", "net-conf.dualstack.json" })
        {
            NetworkConfig config = Parse(Fixture(fixture));
            NetworkConfig again = NetworkConfig.Parse(config.ToJson(), out IReadOnlyList<string> warnings);
            Assert.Empty(warnings);
            Assert.Equal(config, again);
        }
    }

    [Fact]
    public void Validated_BuiltInCode_DerivesDefaults()
    {
        NetworkConfig config = new NetworkConfig { Network = IPNetwork.Parse("10.244.0.0/16"), Backend = new VxlanBackendConfig() }.Validated();
        Assert.Equal(24, config.SubnetLen);
        Assert.Equal(IPAddress.Parse("10.244.1.0"), config.SubnetMin);

        NetworkConfigException e = Assert.Throws<NetworkConfigException>(() =>
            new NetworkConfig { Network = IPNetwork.Parse("10.244.0.0/30"), Backend = new HostGwBackendConfig() }.Validated("lab"));
        Assert.Equal(["lab: Network 10.244.0.0/30 is too small: the smallest usable network is /28"], e.Messages);
    }
}
