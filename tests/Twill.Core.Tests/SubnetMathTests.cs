using System.Net;
using Twill.Core;

namespace Twill.Core.Tests;

public class SubnetMathTests
{
    private static IPNetwork N(string text) => IPNetwork.Parse(text);

    [Theory]
    [InlineData("10.244.0.0/16", 24, "256")]
    [InlineData("10.244.0.0/16", 16, "1")]
    [InlineData("10.244.0.0/28", 30, "4")]
    [InlineData("fd00:10:244::/56", 64, "256")]
    [InlineData("fd00::/8", 64, "72057594037927936")]
    [InlineData("::/0", 128, "340282366920938463463374607431768211455")]
    public void SubnetCount_Network_CountsSubnets(string network, int length, string expected)
    {
        Assert.Equal(UInt128.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), SubnetMath.SubnetCount(N(network), length));
    }

    [Theory]
    [InlineData("10.244.0.0/16", 24, 0, "10.244.0.0/24")]
    [InlineData("10.244.0.0/16", 24, 3, "10.244.3.0/24")]
    [InlineData("10.244.0.0/16", 24, 255, "10.244.255.0/24")]
    [InlineData("10.244.0.0/16", 26, 5, "10.244.1.64/26")]
    [InlineData("fd00:10:244::/56", 64, 4, "fd00:10:244:4::/64")]
    [InlineData("fd00:10:244::/56", 64, 255, "fd00:10:244:ff::/64")]
    public void NthSubnet_Index_IsThatSubnet(string network, int length, int index, string expected)
    {
        IPNetwork subnet = SubnetMath.NthSubnet(N(network), length, (UInt128)index);
        Assert.Equal(N(expected), subnet);
        Assert.Equal((UInt128)index, SubnetMath.IndexOf(N(network), subnet));
    }

    [Fact]
    public void NthSubnet_PastTheEnd_Throws()
    {
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() => SubnetMath.NthSubnet(N("10.244.0.0/16"), 24, 256));
        Assert.Contains("10.244.0.0/16 holds 256 /24 subnets", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.244.0.0/16", "10.244.3.0/24", true)]
    [InlineData("10.244.0.0/16", "10.244.0.0/16", true)]
    [InlineData("10.244.0.0/16", "10.245.0.0/24", false)]
    [InlineData("10.244.0.0/16", "10.0.0.0/8", false)]
    [InlineData("10.244.0.0/16", "fd00::/64", false)]
    [InlineData("fd00:10:244::/56", "fd00:10:244:4::/64", true)]
    public void Contains_Pairs_AnswersInsideOrNot(string outer, string inner, bool expected)
    {
        Assert.Equal(expected, SubnetMath.Contains(N(outer), N(inner)));
    }

    [Theory]
    [InlineData("10.244.3.0/24", "10.244.3.128/25", true)]
    [InlineData("10.244.3.128/25", "10.244.3.0/24", true)]
    [InlineData("10.244.3.0/24", "10.244.4.0/24", false)]
    [InlineData("10.0.0.0/8", "10.244.4.0/24", true)]
    [InlineData("fd00:10:244:4::/64", "fd00:10:244::/56", true)]
    [InlineData("fd00:10:244:4::/64", "fd00:10:244:5::/64", false)]
    [InlineData("10.244.3.0/24", "::/0", false)]
    public void Overlaps_Pairs_AnswersShareOrNot(string a, string b, bool expected)
    {
        Assert.Equal(expected, SubnetMath.Overlaps(N(a), N(b)));
        Assert.Equal(expected, SubnetMath.Overlaps(N(b), N(a)));
    }

    [Theory]
    [InlineData("10.244.0.0/16")]
    [InlineData("0.0.0.0/0")]
    [InlineData("fd00:10:244::/56")]
    [InlineData("192.0.2.1/32")]
    public void TryParseNetwork_Canonical_Parses(string text)
    {
        Assert.True(SubnetMath.TryParseNetwork(text, out IPNetwork network, out string? error), error);
        Assert.Equal(text, network.ToString());
    }

    [Theory]
    [InlineData("10.244.0.1/16", "has host bits set (did you mean 10.244.0.0/16?)")]
    [InlineData("fd00:10:244::1/56", "has host bits set (did you mean fd00:10:244::/56?)")]
    [InlineData("10.244.0.0", "is not a CIDR")]
    [InlineData("10.244.0.0/33", "prefix length must be 0-32")]
    [InlineData("10.244.0/16", "not an IP address")]
    [InlineData("", "is empty")]
    public void TryParseNetwork_Invalid_SaysWhy(string text, string expected)
    {
        Assert.False(SubnetMath.TryParseNetwork(text, out _, out string? error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.244.3.0", 24, true)]
    [InlineData("10.244.3.128", 24, false)]
    [InlineData("10.244.3.128", 25, true)]
    [InlineData("fd00:10:244:4::", 64, true)]
    [InlineData("fd00:10:244:4::1", 64, false)]
    public void IsAligned_Address_ChecksHostBits(string address, int length, bool expected)
    {
        Assert.Equal(expected, SubnetMath.IsAligned(IPAddress.Parse(address), length));
    }

    [Fact]
    public void ToNumber_RoundTripsBothFamilies()
    {
        foreach (string text in new[] { "0.0.0.0", "10.244.3.7", "255.255.255.255", "::", "fd00:10:244:4::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" })
        {
            IPAddress address = IPAddress.Parse(text);
            Assert.Equal(address, SubnetMath.ToAddress(SubnetMath.ToNumber(address), address.AddressFamily));
        }
        Assert.Equal((UInt128)0x0AF40307, SubnetMath.ToNumber(IPAddress.Parse("10.244.3.7")));
    }

    [Fact]
    public void LastAddress_Network_IsBroadcast()
    {
        Assert.Equal(IPAddress.Parse("10.244.255.255"), SubnetMath.LastAddress(N("10.244.0.0/16")));
        Assert.Equal(IPAddress.Parse("fd00:10:244:ff:ffff:ffff:ffff:ffff"), SubnetMath.LastAddress(N("fd00:10:244::/56")));
    }

    [Fact]
    public void SubnetPool_DefaultBounds_CountsAndIndexes()
    {
        SubnetPool pool = new(N("10.244.0.0/16"), 24, IPAddress.Parse("10.244.1.0"), IPAddress.Parse("10.244.255.0"));

        Assert.Equal((UInt128)255, pool.Count);
        Assert.Equal(N("10.244.1.0/24"), pool[0]);
        Assert.Equal(N("10.244.255.0/24"), pool[254]);
        Assert.True(pool.IsCompatible(N("10.244.7.0/24")));
        Assert.False(pool.IsCompatible(N("10.244.0.0/24")));
        Assert.False(pool.IsCompatible(N("10.244.7.0/25")));
        Assert.Equal(255, pool.Subnets().Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => pool[255]);
    }
}
