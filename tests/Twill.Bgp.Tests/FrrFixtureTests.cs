using System.Net;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Tests;

/// <summary>
/// Messages FRR 8.4.4 (Debian frr) sent on these machines, captured with tcpdump inside a ToR
/// namespace (FRR AS 65000 peering with an FRR "node" AS 64512; bodies after the 19-octet header).
/// </summary>
public class FrrFixtureTests
{
    private static readonly BgpCodecOptions Four = new(FourOctetAs: true);

    // OPEN: AS 65000, hold 180, id 198.51.100.1; capabilities MP ipv4+ipv6, route refresh (128 and 2),
    // enhanced route refresh (70), 4-octet AS, extended message (6), ADD-PATH (69), FQDN (73),
    // graceful restart helper (64: R and N set, 120 s, no families), long-lived GR (71).
    private const string Open =
        "04fde800b4c63364015402060104000100010206010400020001020280000202020002024600020641040000fde802020600020a45080001010100020101" +
        "0206490402766d0002044002c0780210470e0001018000000000020180000000";

    private const string Update4 = "0000001c400101005002000602010000fde8400304c633640180040400000000180af4c8";

    private const string Update6 =
        "00000047900e002e0002012020010db8000100000000000000000001fe80000000000000a05a1efffea60a9f0040fd00001002440200" +
        "400101005002000602010000fde880040400000000";

    [Fact]
    public void Open_FromFrr_KnownCapabilitiesReadAndTheRestSkipped()
    {
        OpenMessage open = Assert.IsType<OpenMessage>(BgpCodec.Decode(Hex.Message(1, Open), Four));
        Assert.Equal(65000u, open.Asn);
        Assert.Equal((ushort)180, open.HoldTime);
        Assert.Equal(IPAddress.Parse("198.51.100.1"), open.BgpIdentifier);
        Assert.True(open.Supports(BgpFamily.IPv4Unicast) && open.Supports(BgpFamily.IPv6Unicast));
        Assert.True(open.RouteRefresh && open.FourOctetAs);
        GracefulRestartCapability gr = open.GracefulRestart!;
        Assert.True(gr.RestartState && gr.Notification);
        Assert.Equal((ushort)120, gr.RestartTime);
        Assert.Empty(gr.Families);
        Assert.Equal([128, 70, 6, 69, 73, 71], open.Capabilities.OfType<UnknownCapability>().Select(c => (int)c.Code));
    }

    [Fact]
    public void Update_FromFrr_Ipv4WithExtendedLengthAsPathAndMed()
    {
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, Update4), Four));
        Assert.Null(u.Error);
        Assert.Equal([IPNetwork.Parse("10.244.200.0/24")], u.Nlri);
        Assert.Equal([65000u], u.Get<AsPathAttribute>()!.AllAsns);
        Assert.Equal(IPAddress.Parse("198.51.100.1"), u.Get<NextHopAttribute>()!.NextHop);
        Assert.Equal(0u, u.Get<MultiExitDiscAttribute>()!.Value);
    }

    [Fact]
    public void Update_FromFrr_Ipv6MpReachWithGlobalAndLinkLocalNextHops()
    {
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, Update6), Four));
        Assert.Null(u.Error);
        MpReachNlriAttribute reach = u.Get<MpReachNlriAttribute>()!;
        Assert.Equal(BgpFamily.IPv6Unicast, reach.Family);
        Assert.Equal(IPAddress.Parse("2001:db8:1::1"), reach.NextHop);
        Assert.Equal(IPAddress.Parse("fe80::a05a:1eff:fea6:a9f"), reach.LinkLocalNextHop);
        Assert.Equal([IPNetwork.Parse("fd00:10:244:200::/64")], reach.Nlri);
    }

    [Theory]
    [InlineData("00000000", Afi.IPv4)]
    [InlineData("00000006800f03000201", Afi.IPv6)]
    public void EndOfRib_FromFrr(string body, Afi afi)
    {
        Assert.True(Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, body), Four)).IsEndOfRib(out BgpFamily family));
        Assert.Equal(afi, family.Afi);
    }

    [Fact]
    public void Reencode_FrrUpdate_DecodesToTheSame()
    {
        // We write ORIGIN/AS_PATH with one-octet lengths where FRR set Extended Length; the content must survive.
        UpdateMessage frr = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, Update6), Four));
        UpdateMessage again = Assert.IsType<UpdateMessage>(BgpCodec.Decode(BgpCodec.Encode(frr, Four), Four));
        Assert.Equal(frr.Get<MpReachNlriAttribute>()!.Nlri, again.Get<MpReachNlriAttribute>()!.Nlri);
        Assert.Equal(frr.Get<AsPathAttribute>()!.AllAsns, again.Get<AsPathAttribute>()!.AllAsns);
    }
}
