using System.Net;
using Twill.Bgp.Session;

namespace Twill.Bgp.Tests;

public class TcpMd5Tests
{
    [Fact]
    public void Build_Ipv4_LaysOutStructTcpMd5sig()
    {
        byte[] v = TcpMd5.Build(IPAddress.Parse("198.51.100.1"), "abc");
        Assert.Equal(216, v.Length);
        Assert.Equal(2, BitConverter.ToUInt16(v, 0));             // sa_family AF_INET, host order
        Assert.Equal([198, 51, 100, 1], v[4..8]);                  // sin_addr
        Assert.Equal(3, BitConverter.ToUInt16(v, 130));            // tcpm_keylen
        Assert.Equal("abc"u8.ToArray(), v[136..139]);             // tcpm_key
        Assert.All(v[139..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Build_Ipv6_UsesSockaddrIn6()
    {
        byte[] v = TcpMd5.Build(IPAddress.Parse("2001:db8::1"), "k");
        Assert.Equal(10, BitConverter.ToUInt16(v, 0));
        Assert.Equal(IPAddress.Parse("2001:db8::1").GetAddressBytes(), v[8..24]);
    }

    [Fact]
    public void Build_KeyLongerThan80_IsRefused() =>
        Assert.Throws<ArgumentException>(() => TcpMd5.Build(IPAddress.Loopback, new string('x', 81)));
}
