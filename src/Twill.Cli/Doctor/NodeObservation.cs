using System.Net;
using Twill.Agent;
using Twill.Agent.Store;
using Twill.Core;
using Twill.Leases;
using Twill.Netlink;

namespace Twill.Cli.Doctor;

/// <summary>
/// Everything <c>twill doctor</c> looked at on this node, read once by <see cref="NodeProbe"/>; the
/// checks (<see cref="DoctorChecks"/>) are a pure function of it, so each state → verdict is a unit test.
/// </summary>
public sealed record NodeObservation
{
    public required DoctorSettings Settings { get; init; }

    /// <summary>net-conf.json, parsed; null with <see cref="ConfigError"/> when it could not be read.</summary>
    public NetworkConfig? Config { get; init; }

    public string? ConfigError { get; init; }

    /// <summary>Where the configuration came from (the file, or the store's copy).</summary>
    public string ConfigSource { get; init; } = "";

    /// <summary>sysctl name (sysctl(8)'s spelling) → value; null when the key does not exist.</summary>
    public IReadOnlyDictionary<string, string?> Sysctls { get; init; } = new Dictionary<string, string?>();

    /// <summary>Kernel modules loaded or built in, as /proc/modules, /sys/module and modules.builtin under the host root say.</summary>
    public IReadOnlySet<string> Modules { get; init; } = new HashSet<string>();

    /// <summary>The underlay the agent would pick (<see cref="UnderlaySelector"/>); null with <see cref="UnderlayError"/>.</summary>
    public UnderlayChoice? Underlay { get; init; }

    public string? UnderlayError { get; init; }

    public IReadOnlyList<Link> Links { get; init; } = [];

    /// <summary>Every route of every table, both families.</summary>
    public IReadOnlyList<Route> Routes { get; init; } = [];

    /// <summary>UDP sockets bound to the backend's port (IPv4 and IPv6).</summary>
    public IReadOnlyList<UdpSocket> PortSockets { get; init; } = [];

    public IptablesObservation Iptables { get; init; } = new(null, null, null);

    public StoreObservation Store { get; init; } = new(StoreKind.File, "", null, "not read", null);

    /// <summary>subnet.env's text; null when the file does not exist.</summary>
    public string? SubnetEnvText { get; init; }

    public CniObservation Cni { get; init; } = new([], new HashSet<string>(), null, new HashSet<string>());
}

/// <summary>What the doctor was told: paths, the underlay flags shared with the agent, and whether the cluster has Windows nodes.</summary>
public sealed record DoctorSettings
{
    public string NetConfPath { get; init; } = NetworkConfig.DefaultPath;

    public string SubnetFile { get; init; } = SubnetEnv.DefaultPath;

    public string CniConfDir { get; init; } = "/etc/cni/net.d";

    public string CniBinDir { get; init; } = "/opt/cni/bin";

    /// <summary>Where the host's /proc/modules, /sys/module and /lib/modules are (/ on the node; /host in a container that mounts it).</summary>
    public string HostRoot { get; init; } = "/";

    /// <summary>Twill's own CNI plugins, for <c>--fix</c> to install (the <c>cni</c> directory beside the twill binary's: out/cni, /opt/twill/cni in the image).</summary>
    public string? PluginSource { get; init; }

    /// <summary>How long the store may take to answer.</summary>
    public TimeSpan StoreTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The cluster has Windows nodes (<c>--windows</c>).</summary>
    public bool Windows { get; init; }

    /// <summary>The underlay flags (<c>--iface</c>, <c>--iface-regex</c>, <c>--public-ip</c>), read as the agent reads them.</summary>
    public AgentOptions Agent { get; init; } = new();
}

/// <summary>A bound UDP socket; <see cref="Owner"/> is the process holding it, null for a socket no process holds (the kernel's: a vxlan device, another tunnel).</summary>
public sealed record UdpSocket(IPAddress Address, int Port, long Inode, string? Owner);

/// <summary>Which iptables <c>iptables</c> is ("nf_tables" or "legacy", null: unknown), and how many rules each backend's tables hold (null: its tool is not installed).</summary>
public sealed record IptablesObservation(string? Mode, int? LegacyRules, int? NftRules);

/// <summary>
/// The lease store: <see cref="Error"/> is null when it answered; then <see cref="Leases"/> are its
/// readable leases and <see cref="OwnPublicIP"/> the address this node's lease carries (the underlay's,
/// <c>--public-ip</c>, or the cluster's node-public-ip).
/// </summary>
public sealed record StoreObservation(StoreKind Kind, string Description, IReadOnlyList<Lease>? Leases, string? Error, IPAddress? OwnPublicIP)
{
    /// <summary>The HTTP status the API server answered with, when that is why the store failed (401: the token was refused).</summary>
    public int? HttpStatus { get; init; }

    public DateTimeOffset Now { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The lease whose public IP is this node's; null when none.</summary>
    public Lease? Own => OwnPublicIP is null ? null
        : Leases?.FirstOrDefault(l => OwnPublicIP.Equals(l.Attrs.PublicIP) || OwnPublicIP.Equals(l.Attrs.PublicIPv6));
}

/// <summary>
/// The CNI configuration directory's files (name and text, in the order a runtime reads them), which
/// plugin binaries are executable in the plugin directory, and where Twill's own plugins are (null: not found).
/// </summary>
public sealed record CniObservation(IReadOnlyList<(string Name, string Text)> ConfFiles, IReadOnlySet<string> Binaries, string? PluginSource, IReadOnlySet<string> SourcePlugins);
