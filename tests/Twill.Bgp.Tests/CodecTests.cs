using System.Net;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Tests;

/// <summary>Byte fixtures written out by hand from the RFCs' diagrams (offsets in the comments).</summary>
public class CodecTests
{
    private const string Marker = "ffffffffffffffffffffffffffffffff";
    private static readonly BgpCodecOptions Four = new(FourOctetAs: true);
    private static readonly BgpCodecOptions Two = new(FourOctetAs: false);

    [Fact]
    public void Keepalive_IsTheHeaderAlone()
    {
        byte[] bytes = BgpCodec.Encode(KeepaliveMessage.Instance, Four);
        Assert.Equal(Marker + "0013" + "04", Hex.Format(bytes));
        Assert.IsType<KeepaliveMessage>(BgpCodec.Decode(bytes, Four));
    }

    // OPEN, AS 65001, hold 90, id 198.51.100.11, capabilities MP ipv4/unicast, route refresh, 4-octet AS 65001.
    private const string Open65001 =
        Marker + "002d" + "01" +
        "04" + "fde9" + "005a" + "c633640b" + "10" +
        "02" + "0e" +
            "01" + "04" + "0001" + "00" + "01" +
            "02" + "00" +
            "41" + "04" + "0000fde9";

    [Fact]
    public void Open_Encode_MatchesRfc4271Layout()
    {
        OpenMessage open = new()
        {
            Asn = 65001,
            HoldTime = 90,
            BgpIdentifier = IPAddress.Parse("198.51.100.11"),
            Capabilities = [new MultiprotocolCapability(BgpFamily.IPv4Unicast), new RouteRefreshCapability(), new FourOctetAsCapability(65001)],
        };
        Assert.Equal(Open65001, Hex.Format(BgpCodec.Encode(open, Four)));
    }

    [Fact]
    public void Open_Decode_ReadsEveryField()
    {
        OpenMessage open = Assert.IsType<OpenMessage>(BgpCodec.Decode(Hex.Parse(Open65001), Four));
        Assert.Equal(65001u, open.Asn);
        Assert.Equal((ushort)65001, open.WireAs);
        Assert.Equal((ushort)90, open.HoldTime);
        Assert.Equal(IPAddress.Parse("198.51.100.11"), open.BgpIdentifier);
        Assert.True(open.Supports(BgpFamily.IPv4Unicast));
        Assert.False(open.Supports(BgpFamily.IPv6Unicast));
        Assert.True(open.RouteRefresh);
        Assert.True(open.FourOctetAs);
        Assert.Null(open.GracefulRestart);
    }

    [Fact]
    public void Open_LargeAsn_SendsAsTransAndTheRealOneInTheCapability()
    {
        OpenMessage open = new()
        {
            Asn = 4200000001,
            HoldTime = 9,
            BgpIdentifier = IPAddress.Parse("198.51.100.11"),
            Capabilities = [new FourOctetAsCapability(4200000001)],
        };
        byte[] bytes = BgpCodec.Encode(open, Four);
        // My AS = 23456 (0x5ba0, RFC 6793 AS_TRANS); capability 65 carries 0xfa56ea01.
        Assert.Equal(Marker + "0025" + "01" + "04" + "5ba0" + "0009" + "c633640b" + "08" + "0206" + "4104fa56ea01", Hex.Format(bytes));
        OpenMessage back = Assert.IsType<OpenMessage>(BgpCodec.Decode(bytes, Four));
        Assert.Equal(4200000001u, back.Asn);
        Assert.Equal(OpenMessage.AsTrans, back.WireAs);
    }

    [Fact]
    public void Open_GracefulRestart_RestartBitTimeAndForwardingBits()
    {
        GracefulRestartCapability gr = new(RestartState: true, Notification: false, RestartTime: 120,
            [new GracefulRestartFamily(BgpFamily.IPv4Unicast, true), new GracefulRestartFamily(BgpFamily.IPv6Unicast, false)]);
        OpenMessage open = new() { Asn = 65001, HoldTime = 90, BgpIdentifier = IPAddress.Parse("198.51.100.11"), Capabilities = [gr] };
        byte[] bytes = BgpCodec.Encode(open, Four);
        // Capability 64, length 10: R bit + 120 s = 0x8078; ipv4/unicast F=1 (0x80); ipv6/unicast F=0.
        Assert.EndsWith("020c" + "400a" + "8078" + "00010180" + "00020100", Hex.Format(bytes), StringComparison.Ordinal);
        GracefulRestartCapability back = Assert.IsType<OpenMessage>(BgpCodec.Decode(bytes, Four)).GracefulRestart!;
        Assert.True(back.RestartState);
        Assert.False(back.Notification);
        Assert.Equal((ushort)120, back.RestartTime);
        Assert.Equal(gr.Families, back.Families);
    }

    [Fact]
    public void Open_UnknownCapabilities_AreSkippedAndTheKnownOnesRead()
    {
        // What FRR sends besides the basics: 128 (old route refresh), 70 (enhanced route refresh),
        // 73 (FQDN "tor"), 6 (extended message), split over two Capabilities parameters.
        string body =
            "04" + "fde8" + "0009" + "c6336401" + "1a" +
            "02" + "0c" + "01040002" + "0001" + "8000" + "4600" + "0600" +
            "02" + "0a" + "4908" + "03746f72" + "00" + "00" + "0000";
        OpenMessage open = Assert.IsType<OpenMessage>(BgpCodec.Decode(Hex.Message(1, body), Four));
        Assert.True(open.Supports(BgpFamily.IPv6Unicast));
        Assert.Equal([128, 70, 6, 73], open.Capabilities.OfType<UnknownCapability>().Select(c => (int)c.Code));
        Assert.Equal(65000u, open.Asn);
    }

    public static TheoryData<string, BgpError> MalformedOpens => new()
    {
        { "03" + "fde9" + "005a" + "c633640b" + "00", BgpError.UnsupportedVersionNumber },
        { "04" + "fde9" + "0002" + "c633640b" + "00", BgpError.UnacceptableHoldTime },
        { "04" + "fde9" + "005a" + "00000000" + "00", BgpError.BadBgpIdentifier },
        { "04" + "fde9" + "005a" + "c633640b" + "03" + "010100", BgpError.UnsupportedOptionalParameter },
        { "04" + "fde9" + "005a" + "c633640b" + "05" + "0203010400", BgpError.OpenUnspecific },
        { "04" + "fde9" + "005a" + "c633640b" + "09" + "02060104000100", BgpError.OpenUnspecific },
    };

    [Theory]
    [MemberData(nameof(MalformedOpens))]
    public void Open_Malformed_ThrowsTheNotificationToSend(string body, BgpError error)
    {
        BgpProtocolException e = Assert.Throws<BgpProtocolException>(() => BgpCodec.Decode(Hex.Message(1, body), Four));
        Assert.Equal(error, e.Error);
    }

    [Fact]
    public void Notification_AdministrativeShutdown_CarriesTheCommunication()
    {
        byte[] bytes = BgpCodec.Encode(NotificationMessage.AdministrativeShutdown("bye"), Four);
        Assert.Equal(Marker + "0019" + "03" + "06" + "02" + "03" + "627965", Hex.Format(bytes));
        NotificationMessage back = Assert.IsType<NotificationMessage>(BgpCodec.Decode(bytes, Four));
        Assert.Equal(BgpErrorCode.Cease, back.Code);
        Assert.Equal("cease / administrative shutdown: \"bye\"", back.Describe());
    }

    [Fact]
    public void Notification_HoldTimerExpired_RoundTrips()
    {
        byte[] bytes = Hex.Parse(Marker + "0015" + "03" + "0400");
        NotificationMessage n = Assert.IsType<NotificationMessage>(BgpCodec.Decode(bytes, Four));
        Assert.Equal(BgpErrorCode.HoldTimerExpired, n.Code);
        Assert.Equal(bytes, BgpCodec.Encode(n, Four));
    }

    [Fact]
    public void RouteRefresh_Ipv6Unicast()
    {
        byte[] bytes = BgpCodec.Encode(new RouteRefreshMessage(BgpFamily.IPv6Unicast), Four);
        Assert.Equal(Marker + "0017" + "05" + "0002" + "00" + "01", Hex.Format(bytes));
        Assert.Equal(BgpFamily.IPv6Unicast, Assert.IsType<RouteRefreshMessage>(BgpCodec.Decode(bytes, Four)).Family);
    }

    // UPDATE announcing 10.244.1.0/24: ORIGIN IGP, AS_PATH (65001) 4-octet, NEXT_HOP 198.51.100.11, COMMUNITIES 64512:100.
    private const string Update4 =
        Marker + "0036" + "02" +
        "0000" +
        "001b" +
            "400101" + "00" +
            "400206" + "0201" + "0000fde9" +
            "400304" + "c633640b" +
            "c00804" + "fc000064" +
        "18" + "0af401";

    private static UpdateMessage Announce4() => new()
    {
        Attributes =
        [
            OriginAttribute.Igp,
            AsPathAttribute.Sequence(65001),
            new NextHopAttribute(IPAddress.Parse("198.51.100.11")),
            new CommunitiesAttribute([(64512u << 16) | 100]),
        ],
        Nlri = [IPNetwork.Parse("10.244.1.0/24")],
    };

    [Fact]
    public void Update_Ipv4_Encode_MatchesRfc4271Layout() =>
        Assert.Equal(Update4, Hex.Format(BgpCodec.Encode(Announce4(), Four)));

    [Fact]
    public void Update_Ipv4_Decode_ReadsEveryAttribute()
    {
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Parse(Update4), Four));
        Assert.Null(u.Error);
        Assert.Equal([IPNetwork.Parse("10.244.1.0/24")], u.Nlri);
        Assert.Equal(Origin.Igp, u.Get<OriginAttribute>()!.Origin);
        Assert.Equal([65001u], u.Get<AsPathAttribute>()!.AllAsns);
        Assert.Equal(IPAddress.Parse("198.51.100.11"), u.Get<NextHopAttribute>()!.NextHop);
        Assert.Equal("64512:100", u.Get<CommunitiesAttribute>()!.ToString());
        Assert.False(u.IsEndOfRib(out _));
    }

    [Fact]
    public void Update_TwoOctetAsPath_WhenThePeerIsNotFourOctetCapable()
    {
        byte[] bytes = BgpCodec.Encode(new UpdateMessage { Attributes = [AsPathAttribute.Sequence(65001, 65000)] }, Two);
        Assert.Equal(Marker + "0020" + "02" + "0000" + "0009" + "400206" + "0202" + "fde9" + "fde8", Hex.Format(bytes));
        Assert.Equal([65001u, 65000u], Assert.IsType<UpdateMessage>(BgpCodec.Decode(bytes, Two)).Get<AsPathAttribute>()!.AllAsns);
    }

    [Fact]
    public void Update_LargeAsnToTwoOctetPeer_UsesAsTransAndAs4Path()
    {
        UpdateMessage u = new() { Attributes = [OriginAttribute.Igp, AsPathAttribute.Sequence(4200000001, 65000)] };
        byte[] bytes = BgpCodec.Encode(u, Two);
        string hex = Hex.Format(bytes);
        Assert.Contains("400206" + "0202" + "5ba0" + "fde8", hex, StringComparison.Ordinal);
        Assert.Contains("c0110a" + "0202" + "fa56ea01" + "0000fde8", hex, StringComparison.Ordinal);
        Assert.Equal([4200000001u, 65000u], Assert.IsType<UpdateMessage>(BgpCodec.Decode(bytes, Two)).Get<AsPathAttribute>()!.AllAsns);
    }

    // MP_REACH_NLRI ipv6/unicast, next hop 2001:db8::11 + fe80::11 (length 32), NLRI fd00:10:244:1::/64.
    private const string MpReach6 =
        "900e" + "002e" +
            "0002" + "01" + "20" +
            "20010db8000000000000000000000011" +
            "fe800000000000000000000000000011" +
            "00" +
            "40" + "fd00001002440001";

    [Fact]
    public void Update_MpReachIpv6_WithLinkLocalNextHop()
    {
        UpdateMessage u = new()
        {
            Attributes =
            [
                new MpReachNlriAttribute(BgpFamily.IPv6Unicast, IPAddress.Parse("2001:db8::11"), IPAddress.Parse("fe80::11"), [IPNetwork.Parse("fd00:10:244:1::/64")]),
            ],
        };
        byte[] bytes = BgpCodec.Encode(u, Four);
        Assert.Equal(Marker + "0049" + "02" + "0000" + "0032" + MpReach6, Hex.Format(bytes));
        MpReachNlriAttribute back = Assert.IsType<UpdateMessage>(BgpCodec.Decode(bytes, Four)).Get<MpReachNlriAttribute>()!;
        Assert.Equal(IPAddress.Parse("2001:db8::11"), back.NextHop);
        Assert.Equal(IPAddress.Parse("fe80::11"), back.LinkLocalNextHop);
        Assert.Equal([IPNetwork.Parse("fd00:10:244:1::/64")], back.Nlri);
    }

    [Fact]
    public void Update_MpUnreachIpv6_Withdraws()
    {
        byte[] bytes = BgpCodec.Encode(new UpdateMessage { Attributes = [new MpUnreachNlriAttribute(BgpFamily.IPv6Unicast, [IPNetwork.Parse("fd00:10:244:1::/64")])] }, Four);
        Assert.Equal(Marker + "0027" + "02" + "0000" + "0010" + "900f" + "000c" + "000201" + "40fd00001002440001", Hex.Format(bytes));
        UpdateMessage back = Assert.IsType<UpdateMessage>(BgpCodec.Decode(bytes, Four));
        Assert.Equal([IPNetwork.Parse("fd00:10:244:1::/64")], back.Get<MpUnreachNlriAttribute>()!.Withdrawn);
        Assert.False(back.IsEndOfRib(out _));
    }

    [Fact]
    public void EndOfRib_Ipv4_IsTheEmptyUpdate()
    {
        byte[] bytes = BgpCodec.Encode(UpdateMessage.EndOfRib(BgpFamily.IPv4Unicast), Four);
        Assert.Equal(Marker + "0017" + "02" + "0000" + "0000", Hex.Format(bytes));
        Assert.True(Assert.IsType<UpdateMessage>(BgpCodec.Decode(bytes, Four)).IsEndOfRib(out BgpFamily f));
        Assert.Equal(BgpFamily.IPv4Unicast, f);
    }

    [Theory]
    [InlineData("800f03000201")]   // FRR's form: one-octet length
    [InlineData("900f0003000201")] // ours: extended length
    public void EndOfRib_Ipv6_IsAnEmptyMpUnreach(string attribute)
    {
        int length = attribute.Length / 2;
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, "0000" + length.ToString("x4") + attribute), Four));
        Assert.True(u.IsEndOfRib(out BgpFamily f));
        Assert.Equal(BgpFamily.IPv6Unicast, f);
    }

    [Fact]
    public void Update_ExtendedLengthOnAShortAttribute_IsRead()
    {
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, "0000" + "0005" + "50010001" + "02"), Four));
        Assert.Equal(Origin.Incomplete, u.Get<OriginAttribute>()!.Origin);
    }

    [Fact]
    public void Update_WithdrawnIpv4_AndPrefixHostBitsCleared()
    {
        // 10.244.1.7/24 on the wire (host bits set by a sloppy peer) reads as 10.244.1.0/24; /0 and /32 too.
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, "000a" + "180af401" + "00" + "20c6336401" + "0000"), Four));
        Assert.Equal([IPNetwork.Parse("10.244.1.0/24"), IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("198.51.100.1/32")], u.WithdrawnRoutes);
        UpdateMessage sloppy = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, "0004" + "160af4ff" + "0000"), Four));
        Assert.Equal([IPNetwork.Parse("10.244.252.0/22")], sloppy.WithdrawnRoutes);
    }

    private const string GoodAttributes = "40010100" + "4002060201" + "0000fde9" + "400304c633640b";

    [Theory]
    [InlineData("4001020000" + "4002060201" + "0000fde9" + "400304c633640b", "ORIGIN of length 2")]
    [InlineData("40010103" + "4002060201" + "0000fde9" + "400304c633640b", "ORIGIN value 3")]
    [InlineData("80010100" + "4002060201" + "0000fde9" + "400304c633640b", "ORIGIN has flags")]
    [InlineData("40010100" + "4002060301" + "0000fde9" + "400304c633640b", "AS_PATH segment type 3")]
    [InlineData("40010100" + "4002050201" + "0000fd" + "400304c633640b", "overruns")]
    [InlineData("40010100" + "4002060201" + "0000fde9" + "400305c633640b00", "NEXT_HOP of length 5")]
    [InlineData(GoodAttributes + "c00803fc0000", "COMMUNITIES of length 3")]
    [InlineData(GoodAttributes + "800403000000", "MULTI_EXIT_DISC of length 3")]
    [InlineData("40010100" + "400304c633640b", "AS_PATH is missing")]
    [InlineData("4002060201" + "0000fde9" + "400304c633640b", "ORIGIN is missing")]
    [InlineData("40010100" + "4002060201" + "0000fde9", "NEXT_HOP is missing")]
    [InlineData(GoodAttributes + "c008ff" + "fc000064", "overruns the attribute field")]
    [InlineData(GoodAttributes + "c0", "too few for an attribute")]
    public void Update_MalformedAttribute_IsTreatAsWithdrawNotAReset(string attributes, string reason)
    {
        int length = attributes.Length / 2;
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, "0000" + length.ToString("x4") + attributes + "180af401"), Four));
        Assert.Equal(UpdateErrorAction.TreatAsWithdraw, u.Error?.Action);
        Assert.Contains(reason, u.Error!.Reason, StringComparison.Ordinal);
        Assert.Equal([IPNetwork.Parse("10.244.1.0/24")], u.Nlri); // the prefixes are known, so they can be withdrawn
    }

    [Fact]
    public void Update_MalformedAtomicAggregate_IsAttributeDiscard()
    {
        string attributes = GoodAttributes + "40060100";
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, "0000" + (attributes.Length / 2).ToString("x4") + attributes + "180af401"), Four));
        Assert.Equal(UpdateErrorAction.AttributeDiscard, u.Error?.Action);
        Assert.DoesNotContain(u.Attributes, a => a.TypeCode == PathAttributeType.AtomicAggregate);
    }

    [Fact]
    public void Update_UnknownOptionalAttribute_IsSkipped()
    {
        string attributes = GoodAttributes + "c06303abcdef" + "802000";
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, "0000" + (attributes.Length / 2).ToString("x4") + attributes + "180af401"), Four));
        Assert.Null(u.Error);
        Assert.Equal([IPNetwork.Parse("10.244.1.0/24")], u.Nlri);
        Assert.Contains(u.Attributes, a => a is RawAttribute { RawType: 0x63 });
    }

    [Fact]
    public void Update_RepeatedAttribute_KeepsTheFirst()
    {
        string attributes = GoodAttributes + "40010102";
        UpdateMessage u = Assert.IsType<UpdateMessage>(BgpCodec.Decode(Hex.Message(2, "0000" + (attributes.Length / 2).ToString("x4") + attributes + "180af401"), Four));
        Assert.Null(u.Error);
        Assert.Equal(Origin.Igp, u.Get<OriginAttribute>()!.Origin);
    }

    public static TheoryData<string, BgpError> UnrecoverableUpdates => new()
    {
        { "0010" + "0000", BgpError.MalformedAttributeList }, // withdrawn length overruns
        { "0000" + "0010" + "40010100", BgpError.MalformedAttributeList }, // attribute length overruns
        { "0000" + "0000" + "210af40100", BgpError.InvalidNetworkField }, // /33
        { "0000" + "0000" + "180af4", BgpError.InvalidNetworkField }, // NLRI cut short
        { "0000" + "0004" + "40630100" + "180af401", BgpError.UnrecognizedWellKnownAttribute },
        { "0000" + "000c" + "800f03000201" + "800f03000201", BgpError.MalformedAttributeList }, // MP_UNREACH twice
        { "0000" + "0010" + "800e0d0002010820010db800000000" + "00", BgpError.OptionalAttributeError }, // ipv6 next hop of 8
    };

    [Theory]
    [MemberData(nameof(UnrecoverableUpdates))]
    public void Update_Unrecoverable_IsASessionReset(string body, BgpError error)
    {
        BgpProtocolException e = Assert.Throws<BgpProtocolException>(() => BgpCodec.Decode(Hex.Message(2, body), Four));
        Assert.Equal(error, e.Error);
    }

    public static TheoryData<string, BgpError> MalformedHeaders => new()
    {
        { "fffffffffffffffffffffffffffffffe" + "0013" + "04", BgpError.ConnectionNotSynchronized },
        { Marker + "0012" + "04", BgpError.BadMessageLength },
        { Marker + "1001" + "04", BgpError.BadMessageLength },
        { Marker + "0014" + "04" + "00", BgpError.BadMessageLength },
        { Marker + "0013" + "09", BgpError.BadMessageType },
        { Marker + "0013" + "01", BgpError.BadMessageLength },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void Header_Malformed_IsAMessageHeaderError(string hex, BgpError error)
    {
        BgpProtocolException e = Assert.Throws<BgpProtocolException>(() => BgpCodec.Decode(Hex.Parse(hex), Four));
        Assert.Equal(error, e.Error);
    }

    [Fact]
    public void FrameLength_WaitsForTheHeader_ThenReportsTheLength()
    {
        byte[] bytes = Hex.Parse(Update4);
        Assert.Equal(0, BgpCodec.FrameLength(bytes.AsSpan(0, 18)));
        Assert.Equal(54, BgpCodec.FrameLength(bytes.AsSpan(0, 19)));
    }

    [Fact]
    public void UpdatePacker_TenThousandPrefixes_FitIn4096AndRoundTrip()
    {
        IPNetwork[] prefixes = [.. Enumerable.Range(0, 10_000).Select(i => new IPNetwork(new IPAddress([10, (byte)(i >> 8), (byte)i, 0]), 24))];
        IReadOnlyList<UpdateMessage> updates = UpdatePacker.Announce(BgpFamily.IPv4Unicast, prefixes, AsPathAttribute.Sequence(65001),
            IPAddress.Parse("198.51.100.11"), null, [1], Four);
        List<IPNetwork> back = [];
        foreach (UpdateMessage u in updates)
        {
            byte[] bytes = BgpCodec.Encode(u, Four);
            Assert.True(bytes.Length <= BgpCodec.MaxMessageLength);
            back.AddRange(Assert.IsType<UpdateMessage>(BgpCodec.Decode(bytes, Four)).Nlri);
        }
        Assert.Equal(prefixes, back);
        Assert.True(updates.Count < 15, $"{updates.Count} UPDATEs for 10,000 /24s: the packing wastes room");

        IPNetwork[] six = [.. Enumerable.Range(0, 3000).Select(i => new IPNetwork(new IPAddress([0xfd, 0, 0, 0x10, 2, 0x44, (byte)(i >> 8), (byte)i, 0, 0, 0, 0, 0, 0, 0, 0]), 64))];
        List<IPNetwork> back6 = [];
        foreach (UpdateMessage u in UpdatePacker.Announce(BgpFamily.IPv6Unicast, six, AsPathAttribute.Sequence(65001), IPAddress.Parse("2001:db8::11"), IPAddress.Parse("fe80::11"), [], Four)
            .Concat(UpdatePacker.Withdraw(BgpFamily.IPv6Unicast, six)))
        {
            byte[] bytes = BgpCodec.Encode(u, Four);
            Assert.True(bytes.Length <= BgpCodec.MaxMessageLength);
            UpdateMessage d = Assert.IsType<UpdateMessage>(BgpCodec.Decode(bytes, Four));
            back6.AddRange(d.Get<MpReachNlriAttribute>()?.Nlri ?? d.Get<MpUnreachNlriAttribute>()!.Withdrawn);
        }
        Assert.Equal([.. six, .. six], back6);
    }

    [Fact]
    public void Decode_HostileInput_ThrowsOnlyBgpProtocolException()
    {
        // A small deterministic mutation fuzzer over the fixtures: flip, truncate, extend; the length
        // field is kept consistent half the time so the body parsers see the damage.
        byte[][] seeds = [Hex.Parse(Open65001), Hex.Parse(Update4), BgpCodec.Encode(new UpdateMessage { Attributes = [new MpReachNlriAttribute(BgpFamily.IPv6Unicast, IPAddress.Parse("2001:db8::11"), IPAddress.Parse("fe80::11"), [IPNetwork.Parse("fd00:10:244:1::/64")])] }, Four),
            Hex.Parse(Marker + "0019" + "03" + "0602" + "03627965")];
        Random random = new(7606);
        for (int i = 0; i < 50_000; i++)
        {
            byte[] seed = seeds[i % seeds.Length];
            byte[] m = random.Next(4) switch
            {
                0 => seed[..random.Next(seed.Length)],
                1 => [.. seed, .. Enumerable.Range(0, random.Next(1, 8)).Select(_ => (byte)random.Next(256))],
                _ => [.. seed],
            };
            for (int f = random.Next(1, 4); f > 0 && m.Length > 19; f--)
            {
                m[19 + random.Next(m.Length - 19)] = (byte)random.Next(256);
            }
            if (random.Next(2) == 0 && m.Length >= 19)
            {
                m[16] = (byte)(m.Length >> 8);
                m[17] = (byte)m.Length;
            }
            try
            {
                BgpCodec.Decode(m, random.Next(2) == 0 ? Four : Two);
            }
            catch (BgpProtocolException)
            {
            }
        }
    }
}
