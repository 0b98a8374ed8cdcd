namespace Twill.Netlink.Protocol;

// Numbers from the kernel UAPI headers (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h,
// neighbour.h, veth.h, if_bridge.h). Grouped by header struct/enum so a reader can check each
// block against its source in one place.

/// <summary>linux/netlink.h: message types, header flags, socket options.</summary>
internal static class Nl
{
    public const int AfNetlink = 16;
    public const int NetlinkRoute = 0;
    public const int SolNetlink = 270;

    public const ushort Noop = 1;
    public const ushort Error = 2;
    public const ushort Done = 3;
    public const ushort Overrun = 4;

    public const ushort FRequest = 0x01;
    public const ushort FMulti = 0x02;
    public const ushort FAck = 0x04;
    public const ushort FEcho = 0x08;
    public const ushort FDumpIntr = 0x10;
    public const ushort FDumpFiltered = 0x20;
    public const ushort FDump = 0x300;
    // NEW requests
    public const ushort FReplace = 0x100;
    public const ushort FExcl = 0x200;
    public const ushort FCreate = 0x400;
    public const ushort FAppend = 0x800;
    // ACK flags
    public const ushort FCapped = 0x100;
    public const ushort FAckTlvs = 0x200;

    public const int OptAddMembership = 1;
    public const int OptNoEnobufs = 5;
    public const int OptCapAck = 10;
    public const int OptExtAck = 11;
    public const int OptGetStrictChk = 12;

    public const ushort ErrAttrMsg = 1;
    public const ushort ErrAttrOffs = 2;

    public const int HeaderSize = 16;
    public const int AttrHeaderSize = 4;
    public const ushort AttrFNested = 0x8000;
    public const ushort AttrFNetByteOrder = 0x4000;
    public const ushort AttrTypeMask = 0x3fff;
}

/// <summary>linux/rtnetlink.h: RTM_* message types.</summary>
internal static class Rtm
{
    public const ushort NewLink = 16;
    public const ushort DelLink = 17;
    public const ushort GetLink = 18;
    public const ushort SetLink = 19;
    public const ushort NewAddr = 20;
    public const ushort DelAddr = 21;
    public const ushort GetAddr = 22;
    public const ushort NewRoute = 24;
    public const ushort DelRoute = 25;
    public const ushort GetRoute = 26;
    public const ushort NewNeigh = 28;
    public const ushort DelNeigh = 29;
    public const ushort GetNeigh = 30;

    public static string Name(ushort type) => type switch
    {
        NewLink => "RTM_NEWLINK",
        DelLink => "RTM_DELLINK",
        GetLink => "RTM_GETLINK",
        SetLink => "RTM_SETLINK",
        NewAddr => "RTM_NEWADDR",
        DelAddr => "RTM_DELADDR",
        GetAddr => "RTM_GETADDR",
        NewRoute => "RTM_NEWROUTE",
        DelRoute => "RTM_DELROUTE",
        GetRoute => "RTM_GETROUTE",
        NewNeigh => "RTM_NEWNEIGH",
        DelNeigh => "RTM_DELNEIGH",
        GetNeigh => "RTM_GETNEIGH",
        _ => "RTM_" + type.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>Address families used in the family byte of rtnetlink headers.</summary>
internal static class Af
{
    public const byte Unspec = 0;
    public const byte Inet = 2;
    public const byte Bridge = 7;
    public const byte Inet6 = 10;
}

/// <summary>linux/if_link.h: IFLA_* (struct ifinfomsg attributes).</summary>
internal static class Ifla
{
    public const ushort Address = 1;
    public const ushort Broadcast = 2;
    public const ushort IfName = 3;
    public const ushort Mtu = 4;
    public const ushort Link = 5;
    public const ushort Master = 10;
    public const ushort ProtInfo = 12;
    public const ushort OperState = 16;
    public const ushort LinkInfo = 18;
    public const ushort NetNsFd = 28;
    public const ushort ExtMask = 29;
    public const ushort Promiscuity = 30;
    public const ushort LinkNetnsId = 37;

    public const ushort InfoKind = 1;
    public const ushort InfoData = 2;
    public const ushort InfoSlaveKind = 4;
    public const ushort InfoSlaveData = 5;

    /// <summary>linux/veth.h VETH_INFO_PEER: a struct ifinfomsg followed by IFLA_* attributes.</summary>
    public const ushort VethInfoPeer = 1;

    /// <summary>linux/if_link.h IFLA_BRPORT_* (nested in IFLA_PROTINFO for AF_BRIDGE).</summary>
    public const ushort BrportMode = 4;
    public const ushort BrportLearning = 8;

    /// <summary>linux/rtnetlink.h RTEXT_FILTER_SKIP_STATS: leave the big counters out of replies.</summary>
    public const uint ExtFilterSkipStats = 1 << 3;
}

/// <summary>linux/if_link.h: IFLA_VXLAN_*.</summary>
internal static class IflaVxlan
{
    public const ushort Id = 1;
    public const ushort Group = 2;
    public const ushort Link = 3;
    public const ushort Local = 4;
    public const ushort Ttl = 5;
    public const ushort Tos = 6;
    public const ushort Learning = 7;
    public const ushort Port = 15; // be16
    public const ushort Group6 = 16;
    public const ushort Local6 = 17;
    public const ushort Gbp = 23; // flag
}

/// <summary>linux/if_addr.h: IFA_* and IFA_F_*.</summary>
internal static class Ifa
{
    public const ushort Address = 1;
    public const ushort Local = 2;
    public const ushort Label = 3;
    public const ushort Broadcast = 4;
    public const ushort Flags = 8;
}

/// <summary>linux/rtnetlink.h: RTA_* (struct rtmsg attributes).</summary>
internal static class Rta
{
    public const ushort Dst = 1;
    public const ushort Src = 2;
    public const ushort Oif = 4;
    public const ushort Gateway = 5;
    public const ushort Priority = 6;
    public const ushort PrefSrc = 7;
    public const ushort Multipath = 9;
    public const ushort Table = 15;

    public const uint NhFOnLink = 4;
}

/// <summary>linux/neighbour.h: NDA_*.</summary>
internal static class Nda
{
    public const ushort Dst = 1;
    public const ushort LlAddr = 2;
    public const ushort Vlan = 5;
    public const ushort Port = 6; // be16
    public const ushort Vni = 7;
    public const ushort IfIndex = 8;
    public const ushort Master = 9;
}

/// <summary>linux/netlink.h: NLMSGERR_ATTR_* and the rtnetlink multicast groups.</summary>
internal static class RtnlGrp
{
    public const int Link = 1;
    public const int Neigh = 3;
    public const int Ipv4IfAddr = 5;
    public const int Ipv4Route = 7;
    public const int Ipv6IfAddr = 9;
    public const int Ipv6Route = 11;
}
