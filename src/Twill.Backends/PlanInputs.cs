using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Twill.Backends;

/// <summary>The node's underlay interface (Flannel's "external interface").</summary>
/// <param name="Index">Interface index in the node's namespace.</param>
/// <param name="Name">Interface name (eth0).</param>
/// <param name="Mtu">Its MTU; the overlay's is 50 less.</param>
/// <param name="Address">Its address, the VXLAN source address (Flannel's IfaceAddr).</param>
/// <param name="OnLink">The on-link subnet of that address: peers inside it are on our L2 segment.</param>
/// <remarks>A dual-stack node has two: one per family, on the same interface (Flannel requires that).</remarks>
public sealed record Underlay(int Index, string Name, int Mtu, IPAddress Address, IPNetwork OnLink)
{
    /// <summary>The family of the underlay address: VXLAN of that family runs over it.</summary>
    public AddressFamily Family => Address.AddressFamily;
}

/// <summary>Operating system of a peer, as far as we can tell (see <see cref="PeerLease.Os"/>).</summary>
public enum PeerOs
{
    /// <summary>No sign either way; treated as Linux.</summary>
    Unknown,
    Linux,
    Windows,
}

/// <summary>
/// One node's lease as a plan reads it: its pod subnet, its public IP and its backend data. The agent
/// converts the lease manager's leases into these; keeping the plan's own input type keeps the plan
/// free of store and JSON details.
/// </summary>
public sealed record PeerLease
{
    /// <summary>The lease key, e.g. <c>10.244.3.0-24</c>: how problems name the peer.</summary>
    public required string Key { get; init; }

    /// <summary>The pod subnet of the plan's family (a dual-stack lease gives one PeerLease per family).</summary>
    public required IPNetwork Subnet { get; init; }

    /// <summary>
    /// The public address of the same family (PublicIP or PublicIPv6); <c>::</c> or 0.0.0.0 when the
    /// lease has none for this family (the plan then reports the peer instead of routing it).
    /// </summary>
    public required IPAddress PublicIP { get; init; }

    /// <summary>BackendType of the lease ("vxlan", "host-gw").</summary>
    public string BackendType { get; init; } = "vxlan";

    /// <summary>BackendData.VNI (BackendV6Data.VNI for the IPv6 family); null when the peer published none (host-gw).</summary>
    public int? Vni { get; init; }

    /// <summary>BackendData.VtepMAC (BackendV6Data.VtepMAC for IPv6); null or empty while a Windows node waits for HNS to give it one.</summary>
    public PhysicalAddress? VtepMac { get; init; }

    /// <summary>
    /// What we know of the peer's OS. Flannel's lease data does not say; the agent sets Windows when the
    /// store says so (Kubernetes label kubernetes.io/os), or when this peer was ever seen with an empty
    /// VtepMAC (only Windows nodes publish one), or when its VtepMAC is a Hyper-V address (OUI 00:15:5d,
    /// which HNS gives the DR MAC). See <see cref="PeerOsRule"/>.
    /// </summary>
    public PeerOs Os { get; init; }

    /// <summary>The address family of <see cref="Subnet"/>: which data path (flannel.N or flannel-v6.N) plans this lease.</summary>
    public AddressFamily Family => Subnet.BaseAddress.AddressFamily;

    /// <summary>True when the lease has no VtepMAC yet.</summary>
    public bool HasNoVtepMac => VtepMac is null || VtepMac.Equals(PhysicalAddress.None); // no copy of the bytes: asked per peer per plan
}

/// <summary>How Twill recognises a Windows peer, in one place.</summary>
public static class PeerOsRule
{
    private static readonly byte[] HyperVOui = [0x00, 0x15, 0x5d];

    /// <summary>
    /// Windows when the store says so; else when the peer was seen publishing an empty VtepMAC (only a
    /// Windows node does: HNS has not made its DR MAC yet); else when the VtepMAC is a Hyper-V address.
    /// </summary>
    public static PeerOs Classify(PeerOs fromStore, bool seenEmptyVtepMac, PhysicalAddress? vtepMac)
    {
        if (fromStore != PeerOs.Unknown)
        {
            return fromStore;
        }
        if (seenEmptyVtepMac)
        {
            return PeerOs.Windows;
        }
        byte[]? bytes = vtepMac?.GetAddressBytes();
        if (bytes is { Length: 6 } && bytes.AsSpan(0, 3).SequenceEqual(HyperVOui))
        {
            return PeerOs.Windows;
        }
        return PeerOs.Unknown;
    }
}
