using System.Globalization;
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

    /// <summary>L3 top-of-rack: the ToR routes every pod subnet (learnt over BGP, or static); the node programs no peer routes.</summary>
    Bgp,
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
            BgpBackendSection => new BackendSettings { Kind = BackendKind.Bgp },
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
