namespace Twill.Core;

/// <summary>
/// The <c>Backend</c> object of net-conf.json, typed by its <c>Type</c>. Twill implements vxlan and
/// host-gw; every other Flannel type is refused by <see cref="NetworkConfig.Parse"/> with a clear error.
/// </summary>
public abstract record BackendConfig
{
    /// <summary>The Flannel backend type name as written in net-conf.json and in leases (<c>BackendType</c>).</summary>
    public abstract string Type { get; }

    /// <summary>The backend types Twill implements.</summary>
    public static IReadOnlyList<string> SupportedTypes { get; } = ["vxlan", "host-gw", "bgp"];

    /// <summary>Backend types Flannel knows that Twill does not implement (named in the error).</summary>
    public static IReadOnlyList<string> FlannelOnlyTypes { get; } =
        ["udp", "wireguard", "ipip", "ipsec", "alloc", "extension", "tencent-vpc", "gce", "aws-vpc", "ali-vpc"];
}

/// <summary>
/// vxlan: Flannel's defaults are VNI 1, port 0 (the kernel's 8472), MTU 0 (underlay MTU − 50), GBP,
/// Learning and DirectRouting off. <see cref="MacPrefix"/> exists only on Flannel for Windows (HNS).
/// </summary>
public sealed record VxlanBackendConfig : BackendConfig
{
    /// <summary>The Linux kernel's VXLAN port when none is given (IANA's is 4789; Windows requires 4789).</summary>
    public const int KernelDefaultPort = 8472;

    /// <summary>Flannel's default VNI on Linux. Windows nodes need VNI ≥ 4096.</summary>
    public const int DefaultVni = 1;

    /// <summary>Prefix of Flannel's IPv4 VXLAN device names: <c>flannel.&lt;VNI&gt;</c>.</summary>
    public const string DevicePrefix = "flannel.";

    public const string DefaultMacPrefix = "0E-2A";

    public override string Type => "vxlan";

    public int Vni { get; init; } = DefaultVni;

    /// <summary>UDP destination port; 0 = the kernel's default (<see cref="KernelDefaultPort"/>).</summary>
    public int Port { get; init; }

    /// <summary>Device MTU; 0 = the underlay interface's MTU minus the 50-byte VXLAN overhead.</summary>
    public int Mtu { get; init; }

    /// <summary>VXLAN Group Based Policy extension.</summary>
    public bool Gbp { get; init; }

    /// <summary>Kernel FDB learning on the device (Flannel's default: off, FDB entries are programmed).</summary>
    public bool Learning { get; init; }

    /// <summary>Peers on the same L2 segment get a direct host-gw style route instead of the tunnel.</summary>
    public bool DirectRouting { get; init; }

    /// <summary>Windows (HNS) only: the first two bytes of the VTEP MACs, <c>xx-xx</c>.</summary>
    public string MacPrefix { get; init; } = DefaultMacPrefix;
}

/// <summary>host-gw: a route per peer via its public IP; no options.</summary>
public sealed record HostGwBackendConfig : BackendConfig
{
    public override string Type => "host-gw";
}

/// <summary>
/// bgp (the L3 top-of-rack topology): the section is kept as written, and read field by field by
/// Twill.Bgp's <c>BgpBackendConfigReader</c> where it is used, because a peer's <c>PasswordFile</c> is
/// read from disk and Core does no I/O. Nodes program no peer routes in either of its modes.
/// </summary>
public sealed record BgpBackendSection : BackendConfig
{
    public override string Type => "bgp";

    /// <summary>The <c>Backend</c> object's JSON text, as in net-conf.json.</summary>
    public required string Json { get; init; }
}
