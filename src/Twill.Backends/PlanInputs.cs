using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Core;

namespace Twill.Backends;

/// <summary>Which data path a backend builds.</summary>
public enum BackendKind
{
    /// <summary>VXLAN overlay: one <c>flannel.&lt;VNI&gt;</c> device, a neighbour, an FDB entry and a route per peer.</summary>
    Vxlan,

    /// <summary>Plain routes to each peer's public IP; every node must share one L2 segment.</summary>
    HostGw,
}

/// <summary>
/// The backend part of net-conf.json, already validated: what a plan needs and nothing else. Made
/// from net-conf.json by <see cref="From"/>; defaults are Flannel's on Linux, written once in
/// <see cref="VxlanBackendConfig"/> (VNI 1, the kernel's VXLAN port 8472, device <c>flannel.&lt;VNI&gt;</c>).
/// </summary>
public sealed record BackendSettings
{
    /// <summary>The kernel's default VXLAN port, Flannel's default when net-conf.json gives none.</summary>
    public const int LinuxDefaultPort = VxlanBackendConfig.KernelDefaultPort;

    /// <summary>The only VNI floor and port a Windows (HNS) node accepts.</summary>
    public const int WindowsVni = 4096;

    /// <summary>IANA's VXLAN port, the only one Windows nodes use.</summary>
    public const int WindowsPort = 4789;

    /// <summary>Encapsulation overhead of VXLAN over IPv4 (outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14).</summary>
    public const int VxlanOverhead = 50;

    /// <summary>
    /// Encapsulation overhead of VXLAN over IPv6 (outer IPv6 40 + UDP 8 + VXLAN 8 + inner Ethernet 14).
    /// Flannel subtracts 50 for both families; the kernel then caps an IPv6 device at underlay − 70
    /// anyway, so planning 70 keeps the plan equal to what the kernel accepts.
    /// </summary>
    public const int VxlanOverheadV6 = 70;

    /// <summary>Prefix of Flannel's IPv4 VXLAN device names (<c>flannel.&lt;VNI&gt;</c>).</summary>
    public const string DevicePrefix = VxlanBackendConfig.DevicePrefix;

    /// <summary>Prefix of Flannel's IPv6 VXLAN device names (<c>flannel-v6.&lt;VNI&gt;</c>).</summary>
    public const string DevicePrefixV6 = "flannel-v6.";

    public BackendKind Kind { get; init; } = BackendKind.Vxlan;

    /// <summary>Backend.VNI.</summary>
    public int Vni { get; init; } = VxlanBackendConfig.DefaultVni;

    /// <summary>Backend.Port; 0 means the kernel default (8472).</summary>
    public int Port { get; init; }

    /// <summary>Backend.GBP: VXLAN Group Based Policy extension.</summary>
    public bool Gbp { get; init; }

    /// <summary>Backend.Learning: kernel FDB learning on the device; Flannel's default is off (FDB entries are programmed).</summary>
    public bool Learning { get; init; }

    /// <summary>Backend.MTU: the overlay MTU; null derives it from the underlay (underlay − 50).</summary>
    public int? Mtu { get; init; }

    /// <summary>Backend.DirectRouting: peers on our L2 segment get a host-gw route instead of the overlay.</summary>
    public bool DirectRouting { get; init; }

    /// <summary>The settings net-conf.json's <c>Backend</c> section asks for (MTU 0 there means "derive").</summary>
    public static BackendSettings From(BackendConfig backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return backend switch
        {
            VxlanBackendConfig v => new BackendSettings
            {
                Kind = BackendKind.Vxlan,
                Vni = v.Vni,
                Port = v.Port,
                Gbp = v.Gbp,
                Learning = v.Learning,
                Mtu = v.Mtu > 0 ? v.Mtu : null,
                DirectRouting = v.DirectRouting,
            },
            HostGwBackendConfig => new BackendSettings { Kind = BackendKind.HostGw },
            _ => throw new NotSupportedException($"Backend.Type '{backend.Type}' is not supported by Twill (supported: {string.Join(", ", BackendConfig.SupportedTypes)})"),
        };
    }

    /// <summary>The UDP port packets really go to.</summary>
    public int EffectivePort => Port == 0 ? LinuxDefaultPort : Port;

    /// <summary>Flannel's IPv4 device name for this VNI.</summary>
    public string DeviceName => DeviceNameFor(AddressFamily.InterNetwork);

    /// <summary>Flannel's device name for this VNI and family: <c>flannel.VNI</c> or <c>flannel-v6.VNI</c>.</summary>
    public string DeviceNameFor(AddressFamily family) =>
        DevicePrefixFor(family) + Vni.ToString(CultureInfo.InvariantCulture);

    /// <summary>The device name prefix Twill owns for a family.</summary>
    public static string DevicePrefixFor(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => DevicePrefix,
        AddressFamily.InterNetworkV6 => DevicePrefixV6,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "address family must be InterNetwork or InterNetworkV6"),
    };

    /// <summary>The overlay MTU over an underlay of <paramref name="underlayMtu"/>: Backend.MTU, else underlay − overhead of the family.</summary>
    public int OverlayMtu(AddressFamily family, int underlayMtu) =>
        Mtu ?? underlayMtu - (family == AddressFamily.InterNetworkV6 ? VxlanOverheadV6 : VxlanOverhead);
}

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
    public bool HasNoVtepMac => VtepMac is null || VtepMac.GetAddressBytes().Length == 0;
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
