using System.Net;
using Twill.Core;

namespace Twill.Core.Tests;

public class SubnetEnvTests
{
    private static string Fixture(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "flannel", name));

    [Fact]
    public void Parse_FlannelFixture_ReadsEveryField()
    {
        SubnetEnv env = SubnetEnv.Parse(Fixture("subnet.env"));

        Assert.Equal(IPNetwork.Parse("10.244.0.0/16"), env.Network);
        Assert.Equal(InterfaceAddress.Parse("10.244.3.1/24"), env.Subnet);
        Assert.Equal(1450, env.Mtu);
        Assert.True(env.IpMasq);
        Assert.Null(env.IPv6Network);
    }

    [Fact]
    public void Format_FlannelFixture_RoundTripsByteForByte()
    {
        string text = Fixture("subnet.env");
        Assert.Equal(text, SubnetEnv.Parse(text).Format());
    }

    [Fact]
    public void Format_DualStack_WritesIPv6LinesInFlannelOrder()
    {
        SubnetEnv env = new()
        {
            Networks = [IPNetwork.Parse("10.244.0.0/16")],
            Subnet = InterfaceAddress.FirstHost(IPNetwork.Parse("10.244.4.0/24")),
            IPv6Networks = [IPNetwork.Parse("fd00:10:244::/56")],
            IPv6Subnet = InterfaceAddress.FirstHost(IPNetwork.Parse("fd00:10:244:4::/64")),
            Mtu = 1450,
            IpMasq = false,
        };

        Assert.Equal(
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.4.1/24\n" +
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:4::1/64\n" +
            "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
            env.Format());
        Assert.Equal(env.Format(), SubnetEnv.Parse(env.Format()).Format());
    }

    [Fact]
    public void Parse_SeveralNetworks_KeepsThemAll()
    {
        SubnetEnv env = SubnetEnv.Parse("FLANNEL_NETWORK=10.244.0.0/16,10.245.0.0/16\n");
        Assert.Equal([IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.245.0.0/16")], env.Networks);
    }

    [Theory]
    [InlineData("FLANNEL_SUBNET=10.244.3.1\n", "FLANNEL_SUBNET '10.244.3.1' is not a CIDR")]
    [InlineData("FLANNEL_NETWORK=10.244.0.1/16\n", "FLANNEL_NETWORK 10.244.0.1/16 has host bits set")]
    [InlineData("FLANNEL_MTU=big\n", "FLANNEL_MTU 'big' is not an MTU")]
    [InlineData("FLANNEL_IPMASQ=maybe\n", "FLANNEL_IPMASQ 'maybe' is not true or false")]
    [InlineData("garbage\n", "expected KEY=VALUE")]
    public void Parse_MalformedValue_NamesKeyAndValue(string text, string expected)
    {
        FormatException e = Assert.Throws<FormatException>(() => SubnetEnv.Parse(text, "/run/flannel/subnet.env"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("/run/flannel/subnet.env", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_ReplacesAtomicallyAndLeavesNoTemporaryFile()
    {
        string dir = Directory.CreateTempSubdirectory("twill-subnetenv-").FullName;
        try
        {
            string path = Path.Combine(dir, "subnet.env");
            File.WriteAllText(path, "old");
            SubnetEnv env = SubnetEnv.Parse(Fixture("subnet.env"));

            env.Write(path);

            Assert.Equal(Fixture("subnet.env"), File.ReadAllText(path));
            Assert.Equal(["subnet.env"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("10.244.3.0/24", "10.244.3.1/24")]
    [InlineData("10.244.255.0/24", "10.244.255.1/24")]
    [InlineData("fd00:10:244:4::/64", "fd00:10:244:4::1/64")]
    public void FirstHost_Network_IsGatewayAddress(string network, string expected)
    {
        Assert.Equal(expected, InterfaceAddress.FirstHost(IPNetwork.Parse(network)).ToString());
    }
}
