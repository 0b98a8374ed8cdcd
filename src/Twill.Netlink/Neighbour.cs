using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;

namespace Twill.Netlink;

/// <summary>An ARP (IPv4) or NDP (IPv6) entry (`ip neigh`): IP → MAC on a device.</summary>
public sealed record Neighbour(int Index, IPAddress Address, PhysicalAddress? Mac)
{
    /// <summary>NUD state; permanent by default (never expires, never probed).</summary>
    public NeighbourState State { get; init; } = NeighbourState.Permanent;

    /// <summary>NTF_* flags.</summary>
    public NeighbourFlags Flags { get; init; }

    /// <summary>"10.244.2.0 lladdr aa:bb:.. dev 4".</summary>
    public override string ToString() =>
        Mac is null ? $"{Address} dev {Index}" : $"{Address} lladdr {Mac.ToColonString()} dev {Index}";
}

/// <summary>
/// A bridge forwarding database entry (`bridge fdb`, AF_BRIDGE neighbour). On a vxlan device with
/// <see cref="NeighbourFlags.Self"/>, it maps an inner MAC to the remote VTEP's underlay IP.
/// </summary>
public sealed record FdbEntry(int Index, PhysicalAddress Mac)
{
    /// <summary>Remote VTEP address (NDA_DST, `dst`).</summary>
    public IPAddress? Destination { get; init; }

    /// <summary>Remote UDP port (NDA_PORT, `port`); null for the device's default.</summary>
    public int? Port { get; init; }

    /// <summary>Remote VNI (NDA_VNI, `vni`); null for the device's own.</summary>
    public int? Vni { get; init; }

    /// <summary>NUD state; permanent by default.</summary>
    public NeighbourState State { get; init; } = NeighbourState.Permanent;

    /// <summary>NTF_SELF (the device's own table, as vxlan uses) or NTF_MASTER (the bridge's).</summary>
    public NeighbourFlags Flags { get; init; } = NeighbourFlags.Self;

    /// <summary>NDA_MASTER: the bridge, for entries read from a bridge port.</summary>
    public int? MasterIndex { get; init; }

    /// <summary>NDA_VLAN.</summary>
    public int? Vlan { get; init; }

    /// <summary>"aa:bb:.. dst 192.0.2.2 dev 4".</summary>
    public override string ToString() =>
        Destination is null ? $"{Mac.ToColonString()} dev {Index}" : $"{Mac.ToColonString()} dst {Destination} dev {Index}";
}

/// <summary>NUD_* states (linux/neighbour.h).</summary>
[Flags]
public enum NeighbourState : ushort
{
    /// <summary>NUD_NONE.</summary>
    None = 0,
    /// <summary>Resolution in progress.</summary>
    Incomplete = 0x01,
    /// <summary>Confirmed reachable.</summary>
    Reachable = 0x02,
    /// <summary>Valid but unconfirmed.</summary>
    Stale = 0x04,
    /// <summary>Waiting before probing.</summary>
    Delay = 0x08,
    /// <summary>Probing.</summary>
    Probe = 0x10,
    /// <summary>Resolution failed.</summary>
    Failed = 0x20,
    /// <summary>No ARP needed (pseudo state).</summary>
    NoArp = 0x40,
    /// <summary>Static entry, never expires (pseudo state).</summary>
    Permanent = 0x80,
}

/// <summary>NTF_* neighbour flags (linux/neighbour.h).</summary>
[Flags]
public enum NeighbourFlags : byte
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>NTF_USE.</summary>
    Use = 0x01,
    /// <summary>NTF_SELF: the device's own FDB (vxlan).</summary>
    Self = 0x02,
    /// <summary>NTF_MASTER: the master bridge's FDB.</summary>
    Master = 0x04,
    /// <summary>NTF_PROXY: proxy ARP entry.</summary>
    Proxy = 0x08,
    /// <summary>NTF_EXT_LEARNED.</summary>
    ExtLearned = 0x10,
    /// <summary>NTF_OFFLOADED.</summary>
    Offloaded = 0x20,
    /// <summary>NTF_STICKY.</summary>
    Sticky = 0x40,
    /// <summary>NTF_ROUTER.</summary>
    Router = 0x80,
}
