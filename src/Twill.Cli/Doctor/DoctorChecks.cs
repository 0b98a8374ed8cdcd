using System.Globalization;
using System.Net.Sockets;
using Twill.Agent;
using Twill.Backends;
using Twill.Core;
using Twill.Lab;

namespace Twill.Cli.Doctor;

/// <summary>
/// The checks of <c>twill doctor</c>: a pure function from what was seen on the node
/// (<see cref="NodeObservation"/>) to findings, each with the exact fix. Split by concern: the kernel
/// (this file), the network (<c>.Network.cs</c>), the files Twill hands off through (<c>.Files.cs</c>)
/// and the cluster (<c>.Cluster.cs</c>). A check that does not apply (the vxlan module with host-gw)
/// reports nothing.
/// </summary>
public static partial class DoctorChecks
{
    // The check names, which --json carries, in the order Run prints them.
    public const string NetConf = "net-conf";
    public const string BrNetfilter = "br_netfilter";
    public const string BridgeNfCall = "bridge-nf-call-iptables";
    public const string IpForward = "ip_forward";
    public const string VxlanModule = "vxlan module";
    public const string IptablesBackend = "iptables backend";
    public const string UnderlayCheck = "underlay";
    public const string UdpPort = "udp port";
    public const string RpFilter = "rp_filter";
    public const string Routes = "routes";
    public const string SubnetEnvCheck = "subnet.env";
    public const string CniConflist = "cni conflist";
    public const string CniPlugins = "cni plugins";
    public const string StoreCheck = "store";
    public const string LeaseCheck = "lease";
    public const string WindowsCheck = "windows";

    public const string IpForwardKey = "net.ipv4.ip_forward";
    public const string Ip6ForwardKey = "net.ipv6.conf.all.forwarding";
    public const string BridgeNfKey = "net.bridge.bridge-nf-call-iptables";
    public const string BridgeNf6Key = "net.bridge.bridge-nf-call-ip6tables";
    public const string RpFilterAllKey = "net.ipv4.conf.all.rp_filter";

    /// <summary>Every check, in the order printed: configuration, kernel, network, files, cluster.</summary>
    public static IReadOnlyList<Finding> Run(NodeObservation o)
    {
        ArgumentNullException.ThrowIfNull(o);
        List<Finding> findings = [CheckConfig(o)];
        BackendSettings? settings = Settings(o.Config);
        findings.Add(CheckBrNetfilter(o));
        findings.AddRange(CheckBridgeNfCall(o));
        findings.AddRange(CheckForwarding(o));
        if (settings?.Kind == BackendKind.Vxlan)
        {
            findings.Add(CheckVxlanModule(o, settings));
        }
        findings.AddRange(CheckNetwork(o, settings));
        findings.AddRange(CheckFiles(o, settings));
        findings.AddRange(CheckCluster(o, settings));
        return findings;
    }

    /// <summary>The worst verdict, which is also the exit code.</summary>
    public static Verdict Worst(IEnumerable<Finding> findings) =>
        findings.Select(f => f.Verdict).DefaultIfEmpty(Verdict.Ok).Max();

    /// <summary>The sysctls the checks read, given what is known of the node (the probe reads exactly these).</summary>
    public static IReadOnlyList<string> SysctlsToRead(NetworkConfig? config, UnderlayChoice? underlay, IEnumerable<string> linkNames)
    {
        List<string> keys = [IpForwardKey, BridgeNfKey, RpFilterAllKey];
        if (config?.EnableIPv6 == true)
        {
            keys.Add(Ip6ForwardKey);
            keys.Add(BridgeNf6Key);
        }
        foreach (string iface in RpFilterInterfaces(config, underlay, linkNames))
        {
            keys.Add(RpFilterKey(iface));
        }
        return keys;
    }

    /// <summary>sysctl(8)'s name of an interface's rp_filter: the interface's dots written '/' (<c>net.ipv4.conf.flannel/4096.rp_filter</c>).</summary>
    public static string RpFilterKey(string iface) => $"net.ipv4.conf.{iface.Replace('.', '/')}.rp_filter";

    /// <summary>The path under /proc/sys of a sysctl(8) name (dots are separators, '/' stands for a dot inside a name).</summary>
    public static string SysctlPath(string key) =>
        string.Concat(key.Select(c => c switch { '.' => '/', '/' => '.', _ => c }));

    internal static BackendSettings? Settings(NetworkConfig? config)
    {
        if (config is null)
        {
            return null;
        }
        try
        {
            return BackendSettings.From(config.Backend);
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    private static Finding CheckConfig(NodeObservation o)
    {
        if (o.Config is not NetworkConfig c)
        {
            return Finding.Manual(NetConf, Verdict.Fail, o.ConfigError ?? $"{o.Settings.NetConfPath}: not read",
                $"write {o.Settings.NetConfPath} (the seed's: {SeedConfig.VxlanNetConf}; on Kubernetes the ConfigMap of `twill manifest`)");
        }
        if (Settings(c) is not BackendSettings s)
        {
            return Finding.Manual(NetConf, Verdict.Fail, $"{o.ConfigSource}: Backend.Type '{c.Backend.Type}' is not one Twill runs",
                $"set Backend.Type to vxlan or host-gw in {o.ConfigSource}");
        }
        List<string> networks = [];
        if (c.EnableIPv4 && c.Network is { } n)
        {
            networks.Add(n.ToString());
        }
        if (c.EnableIPv6 && c.IPv6Network is { } n6)
        {
            networks.Add(n6.ToString());
        }
        string backend = s.Kind == BackendKind.Vxlan
            ? string.Create(CultureInfo.InvariantCulture, $"vxlan VNI {s.Vni} port {s.EffectivePort}")
            : "host-gw";
        return Finding.Ok(NetConf, $"{o.ConfigSource}: {string.Join(" + ", networks)}, {backend}");
    }

    private static Finding CheckBrNetfilter(NodeObservation o)
    {
        if (o.Modules.Contains("br_netfilter"))
        {
            return Finding.Ok(BrNetfilter, "loaded");
        }
        // Built into the kernel, a module is in no table, but its sysctls exist.
        if (Sysctl(o, BridgeNfKey) is not null)
        {
            return Finding.Ok(BrNetfilter, "built in (its sysctls exist)");
        }
        return Finding.Fixable(BrNetfilter, Verdict.Fail,
            "not loaded: bridged pod traffic skips iptables, so Services between pods of one node break", new LoadModule("br_netfilter"));
    }

    private static IEnumerable<Finding> CheckBridgeNfCall(NodeObservation o)
    {
        yield return OneSysctl(o, BridgeNfCall, BridgeNfKey, "1", Verdict.Fail,
            "bridged pod traffic skips iptables (kube-proxy's Services, the portmap plugin)", "br_netfilter is not loaded");
        if (o.Config?.EnableIPv6 == true)
        {
            yield return OneSysctl(o, "bridge-nf-call-ip6tables", BridgeNf6Key, "1", Verdict.Fail,
                "bridged IPv6 pod traffic skips ip6tables", "br_netfilter is not loaded");
        }
    }

    private static IEnumerable<Finding> CheckForwarding(NodeObservation o)
    {
        yield return OneSysctl(o, IpForward, IpForwardKey, "1", Verdict.Fail, "the node does not route pod traffic", "no IPv4 in this kernel");
        if (o.Config?.EnableIPv6 == true)
        {
            yield return OneSysctl(o, "ipv6 forwarding", Ip6ForwardKey, "1", Verdict.Fail, "the node does not route IPv6 pod traffic", "IPv6 is disabled");
        }
    }

    private static Finding CheckVxlanModule(NodeObservation o, BackendSettings settings)
    {
        if (o.Modules.Contains("vxlan") || o.Links.Any(l => l.Kind == "vxlan"))
        {
            return Finding.Ok(VxlanModule, "loaded");
        }
        return Finding.Fixable(VxlanModule, Verdict.Warn,
            $"not loaded: the kernel loads it when the agent creates {settings.DeviceName}, unless modules cannot be loaded (a container without /lib/modules)",
            new LoadModule("vxlan"));
    }

    /// <summary>A sysctl that must hold <paramref name="want"/>; an absent key fails too (its fix then needs what <paramref name="absentWhy"/> names first).</summary>
    private static Finding OneSysctl(NodeObservation o, string check, string key, string want, Verdict verdict, string why, string absentWhy)
    {
        string? value = Sysctl(o, key);
        if (value == want)
        {
            return Finding.Ok(check, $"{key} = {value}");
        }
        string seen = value is null ? $"{key} does not exist ({absentWhy})" : $"{key} = {value}";
        return Finding.Fixable(check, verdict, $"{seen}: {why}", new SetSysctl(key, want));
    }

    internal static string? Sysctl(NodeObservation o, string key) => o.Sysctls.TryGetValue(key, out string? v) ? v : null;
}
