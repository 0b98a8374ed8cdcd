using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Twill.Agent;
using Twill.Backends;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Cli.Doctor;

/// <summary>The network checks: iptables backend, underlay and MTU, the VXLAN port, rp_filter, routes in the pod network.</summary>
public static partial class DoctorChecks
{
    /// <summary>The bridge the flannel CNI plugin's bridge delegate makes (its default name).</summary>
    public const string CniBridge = "cni0";

    /// <summary>The smallest MTU an IPv6 link may have (RFC 8200).</summary>
    private const int IPv6MinimumMtu = 1280;

    private static IEnumerable<Finding> CheckNetwork(NodeObservation o, BackendSettings? settings)
    {
        if (o.Config is not NetworkConfig config || settings is null)
        {
            yield break;
        }
        yield return CheckIptables(o, config);
        foreach (Finding f in CheckUnderlay(o, config, settings))
        {
            yield return f;
        }
        if (settings.Kind == BackendKind.Vxlan)
        {
            yield return CheckPort(o, settings);
        }
        if (config.EnableIPv4)
        {
            yield return CheckRpFilter(o, config);
        }
        yield return CheckRoutes(o, config, settings);
    }

    private static Finding CheckIptables(NodeObservation o, NetworkConfig config)
    {
        if (config.EnableNFTables)
        {
            return Finding.Ok(IptablesBackend, "EnableNFTables: Twill writes nftables itself (table inet twill)");
        }
        IptablesObservation t = o.Iptables;
        if (t.Mode is not string mode)
        {
            return Finding.Manual(IptablesBackend, Verdict.Warn, "cannot tell which iptables this node runs (`iptables --version` failed)",
                "install iptables (Twill runs iptables-save and iptables-restore)");
        }
        string other = mode == "legacy" ? "nf_tables" : "legacy";
        int? ours = mode == "legacy" ? t.LegacyRules : t.NftRules;
        int? theirs = mode == "legacy" ? t.NftRules : t.LegacyRules;
        if (theirs is not int n || n == 0)
        {
            return Finding.Ok(IptablesBackend, theirs is null
                ? $"iptables is {mode}; iptables-{ToolSuffix(other)} is not installed"
                : $"iptables is {mode}, and the {other} tables are empty");
        }
        string seen = string.Create(CultureInfo.InvariantCulture,
            $"iptables here is {mode} ({ours ?? 0} rules) but the {other} tables hold {n} rules: a program on the other backend (kube-proxy?) does not see Twill's rules, nor Twill its");
        string fix = n > (ours ?? 0)
            ? $"use the backend the rest of the node uses: update-alternatives --set iptables /usr/sbin/iptables-{ToolSuffix(other)} && update-alternatives --set ip6tables /usr/sbin/ip6tables-{ToolSuffix(other)}"
            : $"remove the leftover rules (iptables-{ToolSuffix(other)}-save shows them) or move the program that writes them to {mode}";
        return Finding.Manual(IptablesBackend, Verdict.Warn, seen, fix);
    }

    private static string ToolSuffix(string mode) => mode == "legacy" ? "legacy" : "nft";

    private static IEnumerable<Finding> CheckUnderlay(NodeObservation o, NetworkConfig config, BackendSettings settings)
    {
        if (o.Underlay is not UnderlayChoice u)
        {
            yield return Finding.Manual(UnderlayCheck, Verdict.Fail, o.UnderlayError ?? "no underlay interface",
                "pass --iface NAME (to the agent too), or give the node a default route");
            yield break;
        }
        List<string> parts = [];
        foreach (AddressFamily family in DualStack.Families(config))
        {
            Underlay underlay = u.For(family)!;
            IPAddress? publicIP = u.PublicFor(family);
            string shown = publicIP is not null && !publicIP.Equals(underlay.Address) ? $" (public {publicIP})" : "";
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{underlay.Name} {underlay.Address}{shown}, MTU {underlay.Mtu}"));
        }
        int podMtu = PodMtu(config, settings, u);
        string overhead = settings.Kind == BackendKind.Vxlan ? " (underlay − VXLAN overhead)" : " (host-gw: the underlay's)";
        string message = string.Create(CultureInfo.InvariantCulture, $"{string.Join("; ", parts.Distinct())} → pod MTU {podMtu}{overhead}");
        if (settings.Kind == BackendKind.Vxlan && settings.Mtu is int asked)
        {
            foreach (AddressFamily family in DualStack.Families(config))
            {
                int fits = u.For(family)!.Mtu - (family == AddressFamily.InterNetworkV6 ? BackendSettings.VxlanOverheadV6 : BackendSettings.VxlanOverhead);
                if (asked > fits)
                {
                    yield return Finding.Manual(UnderlayCheck, Verdict.Warn,
                        string.Create(CultureInfo.InvariantCulture, $"{message}: Backend.MTU {asked} exceeds what the underlay carries encapsulated ({fits}); large packets are dropped"),
                        string.Create(CultureInfo.InvariantCulture, $"set Backend.MTU to {fits} or less in {o.ConfigSource}, or leave it out"));
                    yield break;
                }
            }
        }
        if (config.EnableIPv6 && podMtu < IPv6MinimumMtu)
        {
            yield return Finding.Manual(UnderlayCheck, Verdict.Fail,
                string.Create(CultureInfo.InvariantCulture, $"{message}: IPv6 needs an MTU of {IPv6MinimumMtu} at least"),
                "raise the underlay's MTU (ip link set DEV mtu N) or use host-gw");
            yield break;
        }
        yield return Finding.Ok(UnderlayCheck, message);
    }

    /// <summary>The pods' MTU, as the agent writes FLANNEL_MTU: the smallest over the enabled families.</summary>
    internal static int PodMtu(NetworkConfig config, BackendSettings settings, UnderlayChoice underlay) =>
        DualStack.Families(config).Min(family => settings.Kind == BackendKind.Vxlan
            ? settings.OverlayMtu(family, underlay.For(family)!.Mtu)
            : underlay.For(family)!.Mtu);

    private static Finding CheckPort(NodeObservation o, BackendSettings settings)
    {
        int port = settings.EffectivePort;
        string udp = string.Create(CultureInfo.InvariantCulture, $"UDP {port}");
        if (o.PortSockets.FirstOrDefault(s => s.Owner is not null) is UdpSocket held)
        {
            return Finding.Manual(UdpPort, Verdict.Fail,
                $"{udp} is bound by {held.Owner} ({held.Address}): VXLAN packets from the peers go to it, not to {settings.DeviceName}",
                $"stop {held.Owner}, or choose another Backend.Port (the same on every node)");
        }
        List<Link> devices = [.. o.Links.Where(l => l.Vxlan is { } v && v.Port == port)];
        string[] ours = [settings.DeviceNameFor(AddressFamily.InterNetwork), settings.DeviceNameFor(AddressFamily.InterNetworkV6)];
        if (devices.FirstOrDefault(l => !ours.Contains(l.Name) && l.Vxlan!.Vni == settings.Vni) is Link twin)
        {
            return Finding.Manual(UdpPort, Verdict.Fail,
                string.Create(CultureInfo.InvariantCulture, $"{udp} with VNI {settings.Vni} is taken by the vxlan device {twin.Name}: the agent cannot create {settings.DeviceName}"),
                $"ip link del {twin.Name} (left by another network plugin?)");
        }
        if (o.PortSockets.Count > 0 && devices.Count == 0)
        {
            return Finding.Manual(UdpPort, Verdict.Warn,
                $"{udp} is held by a kernel socket that is no vxlan device here (another tunnel: fou, geneve, wireguard?)",
                string.Create(CultureInfo.InvariantCulture, $"find it (ip -d link show; ss -uanp 'sport = :{port}'), or choose another Backend.Port"));
        }
        return devices.Count == 0
            ? Finding.Ok(UdpPort, $"{udp} is free ({settings.DeviceName} will bind it)")
            : Finding.Ok(UdpPort, $"{udp}: the kernel's vxlan socket ({string.Join(", ", devices.Select(d => d.Name))})");
    }

    /// <summary>The interfaces whose rp_filter decides the fate of overlay packets: the IPv4 underlay and Twill's device when it exists.</summary>
    private static IEnumerable<string> RpFilterInterfaces(NetworkConfig? config, UnderlayChoice? underlay, IEnumerable<string> linkNames)
    {
        if (underlay?.V4 is Underlay v4)
        {
            yield return v4.Name;
        }
        if (Settings(config) is { Kind: BackendKind.Vxlan } s && linkNames.Contains(s.DeviceName))
        {
            yield return s.DeviceName;
        }
    }

    private static Finding CheckRpFilter(NodeObservation o, NetworkConfig config)
    {
        // The kernel applies the larger of conf.all and conf.<iface>; 1 (strict) drops a packet whose
        // reply would leave by another interface (asymmetric paths, host-gw, DirectRouting), 2 (loose) does not.
        List<string> strict = [];
        foreach (string key in (string[])[RpFilterAllKey, .. RpFilterInterfaces(config, o.Underlay, o.Links.Select(l => l.Name)).Select(RpFilterKey)])
        {
            if (Sysctl(o, key) == "1")
            {
                strict.Add(key);
            }
        }
        if (strict.Count == 0)
        {
            string shown = string.Join(", ", o.Sysctls.Where(kv => kv.Key.EndsWith(".rp_filter", StringComparison.Ordinal)).Select(kv => $"{kv.Key} = {kv.Value ?? "absent"}"));
            return Finding.Ok(RpFilter, shown.Length > 0 ? shown : "not strict");
        }
        return Finding.Fixable(RpFilter, Verdict.Warn,
            $"strict reverse-path filtering ({string.Join(", ", strict.Select(k => k + " = 1"))}) drops overlay and pod packets whose reply would leave by another interface",
            [.. strict.Select(k => new SetSysctl(k, "2"))]);
    }

    private static Finding CheckRoutes(NodeObservation o, NetworkConfig config, BackendSettings settings)
    {
        List<IPNetwork> pods = [];
        if (config.EnableIPv4 && config.Network is { } n)
        {
            pods.Add(n);
        }
        if (config.EnableIPv6 && config.IPv6Network is { } n6)
        {
            pods.Add(n6);
        }
        Dictionary<int, string> names = o.Links.ToDictionary(l => l.Index, l => l.Name);
        List<(Route Route, IPNetwork Pod, bool Inside)> foreign = [];
        foreach (Route r in o.Routes)
        {
            if (r.Table == RouteTable.Local || r.Protocol == RouteProtocol.Twill || IsOurDevice(r, names, settings))
            {
                continue;
            }
            foreach (IPNetwork pod in pods)
            {
                if (r.Family != pod.BaseAddress.AddressFamily || r.Destination.PrefixLength == 0)
                {
                    continue;
                }
                if (r.Destination.PrefixLength >= pod.PrefixLength && pod.Contains(r.Destination.BaseAddress))
                {
                    foreign.Add((r, pod, true));
                }
                else if (r.Destination.PrefixLength < pod.PrefixLength && r.Destination.Contains(pod.BaseAddress))
                {
                    foreign.Add((r, pod, false));
                }
            }
        }
        if (foreign.FirstOrDefault(f => f.Inside) is { Route: not null } inside)
        {
            return Finding.Manual(Routes, Verdict.Fail,
                $"{Describe(inside.Route, names)} lies in the pod network {inside.Pod} and is not Twill's: it takes traffic meant for pods"
                + (foreign.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $" ({foreign.Count - 1} more)") : ""),
                $"ip route del {IpRouteArgs(inside.Route, names)} (or choose a pod network the node does not use)");
        }
        if (foreign.Count > 0)
        {
            (Route r, IPNetwork pod, _) = foreign[0];
            return Finding.Manual(Routes, Verdict.Warn,
                $"{Describe(r, names)} covers the pod network {pod}: the underlay uses those addresses too, and pod traffic to a node not leased yet goes there",
                "choose a pod network the underlay does not use (twill manifest --network CIDR)");
        }
        return Finding.Ok(Routes, $"no foreign route in {string.Join(", ", pods)}");
    }

    private static bool IsOurDevice(Route r, Dictionary<int, string> names, BackendSettings settings) =>
        r.OutputIndex is int oif && names.TryGetValue(oif, out string? name)
        && (name == CniBridge || name == settings.DeviceNameFor(AddressFamily.InterNetwork) || name == settings.DeviceNameFor(AddressFamily.InterNetworkV6));

    private static string Describe(Route r, Dictionary<int, string> names) =>
        $"route {IpRouteArgs(r, names)} (proto {ProtocolName(r.Protocol)})";

    /// <summary>The route as `ip route` takes it: destination, via, dev by name, table, metric.</summary>
    internal static string IpRouteArgs(Route r, IReadOnlyDictionary<int, string> names)
    {
        System.Text.StringBuilder sb = new(r.Destination.ToString());
        if (r.Type is not RouteType.Unicast)
        {
            sb.Insert(0, r.Type.ToString().ToLowerInvariant() + " ");
        }
        if (r.Gateway is not null)
        {
            sb.Append(" via ").Append(r.Gateway);
        }
        if (r.OutputIndex is int oif)
        {
            sb.Append(" dev ").Append(names.TryGetValue(oif, out string? name) ? name : oif.ToString(CultureInfo.InvariantCulture));
        }
        if (r.Table != RouteTable.Main)
        {
            sb.Append(" table ").Append(r.Table.ToString(CultureInfo.InvariantCulture));
        }
        if (r.Metric is int m)
        {
            sb.Append(" metric ").Append(m.ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static string ProtocolName(RouteProtocol p) => Enum.IsDefined(p) ? p.ToString().ToLowerInvariant() : ((byte)p).ToString(CultureInfo.InvariantCulture);
}
