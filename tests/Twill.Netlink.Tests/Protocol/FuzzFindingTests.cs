using Twill.Netlink.Protocol;

namespace Twill.Netlink.Tests;

/// <summary>Inputs AFL++ found (make fuzz TARGET=netlink, fuzz/README.md): each once escaped the decoders as something other than InvalidDataException.</summary>
public sealed class FuzzFindingTests
{
    // A 76-byte message from the fuzzer: rtm_family AF_INET with rtm_dst_len 250. IPNetwork threw
    // ArgumentOutOfRangeException, which the monitor's and the dumps' callers do not expect.
    private const string DstLen250 = "4c0000001c0002001c231200db41001902fa00000400000080000000140009000b0002003c23fffffa00000000000001080001000af402000a0002000a000000460100000800040000000000";

    [Fact]
    public void RouteDecode_FuzzedPrefixLongerThanTheFamily_IsMalformed()
    {
        Assert.Throws<InvalidDataException>(() => RouteCodec.Decode(Convert.FromHexString(DstLen250)));
    }

    [Theory]
    [InlineData(33)] // longer than IPv4
    [InlineData(16)] // 10.244.2.0/16: host bits past the prefix
    public void RouteDecode_DestinationThatIsNoPrefix_IsMalformed(byte dstLen)
    {
        byte[] route = Fixtures.OnlinkRoute;
        route[Nl.HeaderSize + 1] = dstLen;

        Assert.Throws<InvalidDataException>(() => RouteCodec.Decode(route));
    }

    [Fact]
    public void RouteDecode_Ipv4DestinationInAnIpv6Route_IsMalformed()
    {
        byte[] route = Fixtures.OnlinkRoute;
        route[Nl.HeaderSize] = 10; // AF_INET6, RTA_DST still 4 bytes

        Assert.Throws<InvalidDataException>(() => RouteCodec.Decode(route));
    }

    [Fact]
    public void MonitorDecode_RouteWithPrefixLongerThanTheFamily_ThrowsInvalidData()
    {
        byte[] route = Fixtures.OnlinkRoute;
        route[Nl.HeaderSize + 1] = 40;

        Assert.Throws<InvalidDataException>(() => RtnlMonitor.Decode(route));
    }
}
