using System.Net;
using System.Net.NetworkInformation;
using Twill.Netlink.Protocol;

namespace Twill.Netlink.Tests;

public sealed class CodecTests
{
    [Fact]
    public void LinkDecode_CapturedVxlan_ReadsEveryField()
    {
        Link link = LinkCodec.Decode(Fixtures.VxlanLink)!;

        Assert.Equal(4, link.Index);
        Assert.Equal("vx0", link.Name);
        Assert.Equal("vxlan", link.Kind);
        Assert.Equal(1450, link.Mtu);
        Assert.Equal(PhysicalAddress.Parse("02-aa-bb-cc-dd-ee"), link.Mac);
        Assert.True(link.IsUp);
        Assert.Equal(0, link.MasterIndex);
        VxlanSpec expected = new()
        {
            Name = "vx0",
            Vni = 4096,
            Local = IPAddress.Parse("192.0.2.1"),
            UnderlayIndex = 3,
            Port = 8472,
            Learning = false,
            Gbp = true,
            Ttl = 64,
            Tos = 0,
            Mtu = 1450,
            Mac = PhysicalAddress.Parse("02-aa-bb-cc-dd-ee"),
        };
        Assert.Equal(expected, link.Vxlan);
    }

    [Fact]
    public void RouteDecode_CapturedOnlinkRoute_ReadsEveryField()
    {
        Route route = RouteCodec.Decode(Fixtures.OnlinkRoute)!;

        Assert.Equal(new Route(IPNetwork.Parse("10.244.2.0/24"))
        {
            Gateway = IPAddress.Parse("10.244.2.0"),
            OutputIndex = 4,
            OnLink = true,
            Scope = RouteScope.Universe,
            Table = RouteTable.Main,
            Metric = 7,
            Protocol = RouteProtocol.Twill,
            Type = RouteType.Unicast,
        }, route);
    }

    [Fact]
    public void RouteWrite_ReplaceOnlink_MatchesHeaderLayout()
    {
        Route route = new(IPNetwork.Parse("10.244.2.0/24"))
        {
            Gateway = IPAddress.Parse("10.244.2.0"),
            OutputIndex = 4,
            OnLink = true,
            Metric = 7,
            Protocol = RouteProtocol.Twill,
        };
        byte[] expected = Convert.FromHexString(
            "44000000" + "1800" + "0505" + "01000000" + "00000000" + // nlmsghdr: len 68, RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE, seq 1
            "02180000fe540001" + "04000000" +                          // rtmsg: inet /24, main, proto 84, universe, unicast, RTNH_F_ONLINK
            "080001000af40200" +                                       // RTA_DST 10.244.2.0
            "08000f00fe000000" +                                       // RTA_TABLE 254
            "080005000af40200" +                                       // RTA_GATEWAY 10.244.2.0
            "0800040004000000" +                                       // RTA_OIF 4
            "0800060007000000");                                       // RTA_PRIORITY 7
        byte[] buffer = new byte[256];
        NetlinkWriter w = new(buffer);

        RouteCodec.Write(ref w, 24, 0x0505, 1, route);

        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(w.Written));
    }

    [Fact]
    public void RouteWrite_Delete_MatchesAnyProtocolAndScope()
    {
        byte[] buffer = new byte[256];
        NetlinkWriter w = new(buffer);

        RouteCodec.Write(ref w, 25, 0x0005, 9, new Route(IPNetwork.Parse("10.0.0.0/8")) { Protocol = RouteProtocol.Twill });

        RtMsg rt = Attr.Struct<RtMsg>(w.Written);
        Assert.Equal((byte)0, rt.Protocol);
        Assert.Equal((byte)RouteScope.Nowhere, rt.Scope);
        Assert.Equal((byte)0, rt.Type);
    }

    [Fact]
    public void AddressWrite_Ipv4WithBroadcast_AddsIfaBroadcastAndDecodesBack()
    {
        byte[] expected = Convert.FromHexString(
            "30000000" + "1400" + "0506" + "01000000" + "00000000" + // nlmsghdr: len 48, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE, seq 1
            "02180000" + "03000000" +                                // ifaddrmsg: inet /24, no flags, universe, index 3
            "080002000af40101" +                                     // IFA_LOCAL 10.244.1.1
            "080001000af40101" +                                     // IFA_ADDRESS 10.244.1.1
            "080004000af401ff");                                     // IFA_BROADCAST 10.244.1.255
        byte[] buffer = new byte[256];
        NetlinkWriter w = new(buffer);

        AddressCodec.Write(ref w, Rtm.NewAddr, 0x0605, 1, 3, IPAddress.Parse("10.244.1.1"), 24, AddressFlags.None,
            broadcast: IPAddress.Parse("10.244.1.255"));

        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(w.Written));
        IfAddress decoded = AddressCodec.Decode(w.Written)!;
        Assert.Equal(IPAddress.Parse("10.244.1.255"), decoded.Broadcast);
        Assert.Equal(IPAddress.Parse("10.244.1.1"), decoded.Address);
    }

    [Fact]
    public void AddressWrite_Ipv6WithBroadcast_Throws()
    {
        byte[] buffer = new byte[256];
        NetlinkWriter w = new(buffer);

        try
        {
            AddressCodec.Write(ref w, Rtm.NewAddr, 0x0605, 1, 3, IPAddress.Parse("2001:db8::1"), 64, AddressFlags.None,
                broadcast: IPAddress.Parse("10.244.1.255"));
            Assert.Fail("an IPv6 address with a broadcast was encoded");
        }
        catch (ArgumentException e)
        {
            Assert.Equal("broadcast", e.ParamName);
        }
    }

    [Fact]
    public void NeighbourDecode_CapturedPermanent_ReadsEveryField()
    {
        Neighbour n = NeighbourCodec.Decode(Fixtures.PermanentNeighbour)!;

        Assert.Equal(new Neighbour(4, IPAddress.Parse("10.244.2.0"), PhysicalAddress.Parse("02-00-00-00-02-00")), n);
        Assert.Null(NeighbourCodec.DecodeFdb(Fixtures.PermanentNeighbour));
    }

    [Fact]
    public void FdbDecode_CapturedVxlanEntry_PortIsBigEndian()
    {
        FdbEntry e = NeighbourCodec.DecodeFdb(Fixtures.VxlanFdb)!;

        Assert.Equal(4, e.Index);
        Assert.Equal(PhysicalAddress.Parse("02-00-00-00-02-00"), e.Mac);
        Assert.Equal(IPAddress.Parse("198.51.100.2"), e.Destination);
        Assert.Equal(4789, e.Port);
        Assert.Equal(77, e.Vni);
        Assert.True(e.State.HasFlag(NeighbourState.Permanent));
        Assert.Equal(NeighbourFlags.Self, e.Flags);
        Assert.Null(NeighbourCodec.Decode(Fixtures.VxlanFdb));
    }

    [Fact]
    public void FdbWrite_PortAndVni_PortBigEndianVniHostOrder()
    {
        byte[] buffer = new byte[256];
        NetlinkWriter w = new(buffer);

        NeighbourCodec.WriteFdb(ref w, 28, 0x0c05, 3, new FdbEntry(4, PhysicalAddress.Parse("02-00-00-00-02-00"))
        {
            Destination = IPAddress.Parse("198.51.100.2"),
            Port = 4789,
            Vni = 77,
        });

        string hex = Convert.ToHexString(w.Written);
        Assert.Contains("06000600" + "12B50000", hex, StringComparison.Ordinal);  // NDA_PORT be16 4789
        Assert.Contains("08000700" + "4D000000", hex, StringComparison.Ordinal);  // NDA_VNI 77
        Assert.Contains("0A000200" + "020000000200" + "0000", hex, StringComparison.Ordinal); // NDA_LLADDR padded
        NdMsg nd = Attr.Struct<NdMsg>(w.Written);
        Assert.Equal((7, 4, (ushort)0x80, (byte)0x02), (nd.Family, nd.IfIndex, nd.State, nd.Flags));
    }

    [Fact]
    public void VxlanWrite_NestedLengths_CoverExactlyTheirChildren()
    {
        byte[] buffer = new byte[512];
        NetlinkWriter w = new(buffer);
        LinkCodec.WriteVxlan(ref w, 1, new VxlanSpec { Name = "flannel.1", Vni = 1, Port = 8472, Gbp = true, UnderlayIndex = 2, Local = IPAddress.Parse("192.0.2.1") });
        ReadOnlySpan<byte> msg = w.Written;

        Assert.Equal(msg.Length, BitConverter.ToInt32(msg));
        AttributeReader attrs = AttributeReader.After<IfInfoMsg>(msg);
        ReadOnlySpan<byte> linkInfo = default;
        string? name = null;
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            if (type == Ifla.LinkInfo)
            {
                linkInfo = value;
            }
            else if (type == Ifla.IfName)
            {
                name = Attr.String(value);
            }
        }
        Assert.Equal("flannel.1", name);
        AttributeReader info = new(linkInfo);
        Assert.True(info.TryRead(out ushort kindType, out ReadOnlySpan<byte> kind));
        Assert.Equal((Ifla.InfoKind, "vxlan"), (kindType, Attr.String(kind)));
        Assert.True(info.TryRead(out ushort dataType, out ReadOnlySpan<byte> data));
        Assert.Equal(Ifla.InfoData, dataType);
        Assert.False(info.TryRead(out _, out _));
        Dictionary<ushort, byte[]> vx = [];
        AttributeReader d = new(data);
        while (d.TryRead(out ushort t, out ReadOnlySpan<byte> v))
        {
            vx[t] = v.ToArray();
        }
        Assert.Equal(new byte[] { 0x21, 0x18 }, vx[IflaVxlan.Port]);
        Assert.Equal(new byte[] { 192, 0, 2, 1 }, vx[IflaVxlan.Local]);
        Assert.Empty(vx[IflaVxlan.Gbp]);
        Assert.Equal(new byte[] { 0 }, vx[IflaVxlan.Learning]);
        Assert.Equal(2u, BitConverter.ToUInt32(vx[IflaVxlan.Link]));
    }

    [Fact]
    public void VethWrite_PeerStruct_FollowedByPeerAttributes()
    {
        byte[] buffer = new byte[512];
        NetlinkWriter w = new(buffer);
        LinkCodec.WriteVeth(ref w, 1, "veth1", "eth0", 7, 1450, null, null);

        string hex = Convert.ToHexString(w.Written);
        // VETH_INFO_PEER without NLA_F_NESTED, then a zeroed 16-byte ifinfomsg, then IFLA_IFNAME "eth0".
        Assert.Contains("0100" + new string('0', 32) + "0900030065746830", hex, StringComparison.Ordinal);
        Assert.Contains("08001C0007000000", hex, StringComparison.Ordinal); // IFLA_NET_NS_FD 7
    }

    [Fact]
    public void MonitorDecode_LinkFixtureAsDelete_IsDeleteLinkEvent()
    {
        byte[] msg = Fixtures.VxlanLink;
        msg[4] = 17; // RTM_DELLINK

        RtnlEvent e = Assert.Single(RtnlMonitor.Decode(msg));

        Assert.Equal(RtnlEventKind.DeleteLink, e.Kind);
        Assert.Equal("vx0", e.Link!.Name);
    }

    [Fact]
    public void MonitorDecode_TwoMessagesInOneDatagram_BothDecoded()
    {
        byte[] datagram = [.. Fixtures.OnlinkRoute, .. Fixtures.VxlanFdb];

        List<RtnlEvent> events = RtnlMonitor.Decode(datagram);

        Assert.Equal([RtnlEventKind.NewRoute, RtnlEventKind.NewFdb], events.Select(e => e.Kind));
    }
}
