using System.Net;
using System.Net.NetworkInformation;

namespace Twill.Netlink;

/// <summary>A network interface as RTM_NEWLINK describes it (`ip -d link show`).</summary>
public sealed record Link
{
    /// <summary>Interface index (ifindex), unique within its namespace.</summary>
    public required int Index { get; init; }

    /// <summary>Interface name (IFLA_IFNAME).</summary>
    public required string Name { get; init; }

    /// <summary>IFLA_INFO_KIND: "veth", "bridge", "vxlan", "dummy", ...; null for plain devices (lo, physical).</summary>
    public string? Kind { get; init; }

    /// <summary>MTU in bytes.</summary>
    public int Mtu { get; init; }

    /// <summary>Hardware address (IFLA_ADDRESS); null when the device has none.</summary>
    public PhysicalAddress? Mac { get; init; }

    /// <summary>Index of the master (bridge) device; 0 when none.</summary>
    public int MasterIndex { get; init; }

    /// <summary>IFF_* flags (administrative state and more).</summary>
    public LinkFlags Flags { get; init; }

    /// <summary>Administratively up (IFF_UP).</summary>
    public bool IsUp => (Flags & LinkFlags.Up) != 0;

    /// <summary>Promiscuous mode requested (IFF_PROMISC).</summary>
    public bool IsPromiscuous => (Flags & LinkFlags.Promisc) != 0;

    /// <summary>RFC 2863 operational state (IFLA_OPERSTATE).</summary>
    public OperState OperState { get; init; }

    /// <summary>IFLA_LINK: for a veth the peer's index (in the peer's namespace), for a vxlan 0.</summary>
    public int ParentIndex { get; init; }

    /// <summary>IFLA_LINK_NETNSID: the namespace id, as seen from this namespace, where the peer lives.</summary>
    public int? LinkNetnsId { get; init; }

    /// <summary>VXLAN settings when <see cref="Kind"/> is "vxlan".</summary>
    public VxlanSpec? Vxlan { get; init; }

    /// <summary>IFLA_INFO_SLAVE_KIND: "bridge" when the link is a bridge port.</summary>
    public string? PortKind { get; init; }

    /// <summary>Bridge port hairpin mode (IFLA_BRPORT_MODE), when the link is a bridge port.</summary>
    public bool? Hairpin { get; init; }
}

/// <summary>Settings of a VXLAN device (`ip link add NAME type vxlan id VNI local IP dev DEV dstport PORT nolearning gbp`).</summary>
public sealed record VxlanSpec
{
    /// <summary>Device name.</summary>
    public required string Name { get; init; }

    /// <summary>VXLAN network identifier (24 bits).</summary>
    public required int Vni { get; init; }

    /// <summary>Source address of encapsulated packets (IPv4 or IPv6); null lets the kernel pick.</summary>
    public IPAddress? Local { get; init; }

    /// <summary>Underlay device index (IFLA_VXLAN_LINK); null for none.</summary>
    public int? UnderlayIndex { get; init; }

    /// <summary>UDP destination port; 4789 is IANA's, Flannel's default is 8472 (the Linux default).</summary>
    public int Port { get; init; } = 4789;

    /// <summary>Learn remote MACs from received packets. Flannel turns it off (it programs FDB entries).</summary>
    public bool Learning { get; init; }

    /// <summary>Group Based Policy extension (IFLA_VXLAN_GBP).</summary>
    public bool Gbp { get; init; }

    /// <summary>MTU; null keeps the kernel's choice.</summary>
    public int? Mtu { get; init; }

    /// <summary>Explicit MAC; null lets the kernel pick a random one.</summary>
    public PhysicalAddress? Mac { get; init; }

    /// <summary>Outer TTL; null (or 0) inherits the kernel default.</summary>
    public byte? Ttl { get; init; }

    /// <summary>Outer TOS; null (or 0) for none; 1 means "inherit".</summary>
    public byte? Tos { get; init; }
}

/// <summary>IFF_* interface flags (linux/if.h).</summary>
[Flags]
public enum LinkFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>Administratively up.</summary>
    Up = 0x1,
    /// <summary>Broadcast address valid.</summary>
    Broadcast = 0x2,
    /// <summary>Loopback device.</summary>
    Loopback = 0x8,
    /// <summary>Point-to-point link.</summary>
    PointToPoint = 0x10,
    /// <summary>Resources allocated (driver is running).</summary>
    Running = 0x40,
    /// <summary>No ARP.</summary>
    NoArp = 0x80,
    /// <summary>Receive all packets.</summary>
    Promisc = 0x100,
    /// <summary>Receive all multicast packets.</summary>
    AllMulti = 0x200,
    /// <summary>Supports multicast.</summary>
    Multicast = 0x1000,
    /// <summary>Carrier present (IFF_LOWER_UP).</summary>
    LowerUp = 0x10000,
}

/// <summary>RFC 2863 operational state (IF_OPER_* in linux/if.h).</summary>
public enum OperState : byte
{
    /// <summary>Unknown (typical for lo and dummy).</summary>
    Unknown = 0,
    /// <summary>Not present.</summary>
    NotPresent = 1,
    /// <summary>Down.</summary>
    Down = 2,
    /// <summary>Down because a lower layer is down.</summary>
    LowerLayerDown = 3,
    /// <summary>Testing.</summary>
    Testing = 4,
    /// <summary>Dormant.</summary>
    Dormant = 5,
    /// <summary>Up.</summary>
    Up = 6,
}
