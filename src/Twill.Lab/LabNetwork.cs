using System.Net;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>
/// The kernel side of a lab, all through Twill.Netlink and only inside the lab's own namespaces:
/// namespaces, the underlay switch and router, node and host addressing, forwarding sysctls.
/// </summary>
internal static class LabNetwork
{
    private static readonly IPNetwork DefaultRoute = IPNetwork.Parse("0.0.0.0/0");

    /// <summary>Creates one namespace and brings its loopback up.</summary>
    public static void CreateNamespace(string name)
    {
        using NetNs ns = NetNs.Create(name);
        using RtnlConnection rtnl = RtnlConnection.Open(ns);
        rtnl.SetLinkUp(rtnl.GetLink("lo").Index);
    }

    /// <summary>Bridges in the switch namespace, veths from every host to its segment, addresses, routes.</summary>
    public static void BuildUnderlay(LabTopology topology)
    {
        using NetNs switchNs = NetNs.Open(topology.SwitchNamespace);
        using RtnlConnection sw = RtnlConnection.Open(switchNs);
        Dictionary<UnderlaySegment, int> bridges = [];
        foreach (UnderlaySegment segment in topology.Segments)
        {
            Link bridge = sw.AddBridge(segment.Bridge);
            sw.SetLinkUp(bridge.Index);
            bridges[segment] = bridge.Index;
        }

        if (topology.Router is LabHost router)
        {
            Wire(router.Namespace, router.Interfaces, null, switchNs, sw, bridges);
            using NetNs ns = NetNs.Open(router.Namespace);
            Sysctl.Write(ns, "net.ipv4.ip_forward", "1");
        }
        if (topology.ControlPlane is LabHost cp)
        {
            Wire(cp.Namespace, cp.Interfaces, cp.Gateway, switchNs, sw, bridges);
        }
        foreach (LabNode node in topology.Nodes)
        {
            Wire(node.Namespace, [node.Underlay], node.Gateway, switchNs, sw, bridges);
            using NetNs ns = NetNs.Open(node.Namespace);
            // A node forwards its pods' traffic; a fresh namespace may not inherit the host's setting.
            Sysctl.Write(ns, "net.ipv4.ip_forward", "1");
        }
    }

    private static void Wire(string hostNamespace, IReadOnlyList<HostInterface> interfaces, IPAddress? gateway,
        NetNs switchNs, RtnlConnection sw, Dictionary<UnderlaySegment, int> bridges)
    {
        using NetNs ns = NetNs.Open(hostNamespace);
        using RtnlConnection host = RtnlConnection.Open(ns);
        foreach (HostInterface iface in interfaces)
        {
            Link local = host.AddVeth(iface.Name, iface.SwitchPort, switchNs);
            Link port = sw.GetLink(iface.SwitchPort);
            sw.SetMaster(port.Index, bridges[iface.Segment]);
            sw.SetLinkUp(port.Index);
            host.AddAddress(local.Index, iface.Address, iface.PrefixLength, noDad: true);
            host.SetLinkUp(local.Index);
        }
        if (gateway is not null)
        {
            host.ReplaceRoute(new Route(DefaultRoute) { Gateway = gateway });
        }
    }

    /// <summary>The "net:[inode]" identity of a namespace, as /proc/PID/ns/net links read.</summary>
    public static string? Identity(string name)
    {
        if (!NetNs.Exists(name))
        {
            return null;
        }
        using NetNs ns = NetNs.Open(name);
        return ns.Run(static () => new FileInfo("/proc/thread-self/ns/net").LinkTarget);
    }
}
