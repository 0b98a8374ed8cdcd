using System.Net;
using System.Net.Sockets;

namespace Twill.Netlink;

/// <summary>
/// A route (`ip route`): destination prefix, and where it goes. Defaults match `ip route replace`
/// (main table, unicast, protocol boot); set <see cref="Protocol"/> to <see cref="RouteProtocol.Twill"/>
/// for routes Twill owns.
/// </summary>
public sealed record Route(IPNetwork Destination)
{
    /// <summary>Next hop (`via`); null for a device route.</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>Output interface index (`dev`); null to let the kernel resolve it from the gateway.</summary>
    public int? OutputIndex { get; init; }

    /// <summary>`onlink`: treat the gateway as directly reachable on the device (RTNH_F_ONLINK).</summary>
    public bool OnLink { get; init; }

    /// <summary>Scope; null picks like ip does: link for a device route without gateway, else universe.</summary>
    public RouteScope? Scope { get; init; }

    /// <summary>Routing table id (main = 254).</summary>
    public int Table { get; init; } = RouteTable.Main;

    /// <summary>Priority (`metric`); null for none (0).</summary>
    public int? Metric { get; init; }

    /// <summary>Who installed it (`proto`).</summary>
    public RouteProtocol Protocol { get; init; } = RouteProtocol.Boot;

    /// <summary>Route type (unicast, local, blackhole...).</summary>
    public RouteType Type { get; init; } = RouteType.Unicast;

    /// <summary>Preferred source address (`src`, RTA_PREFSRC).</summary>
    public IPAddress? Source { get; init; }

    /// <summary>
    /// ECMP (`nexthop via A dev X nexthop via B dev Y`, RTA_MULTIPATH): every path of the route, in
    /// place of <see cref="Gateway"/>/<see cref="OutputIndex"/>; null (or one entry) for a single path.
    /// </summary>
    public IReadOnlyList<RouteNextHop>? NextHops { get; init; }

    /// <summary>IPv4 or IPv6, from the destination.</summary>
    public AddressFamily Family => Destination.BaseAddress.AddressFamily;

    /// <summary>The route as ip prints it, e.g. "10.244.2.0/24 via 10.244.2.0 dev 4 onlink".</summary>
    public override string ToString()
    {
        System.Text.StringBuilder sb = new(Destination.ToString());
        if (Gateway is not null)
        {
            sb.Append(" via ").Append(Gateway);
        }
        if (OutputIndex is int oif)
        {
            sb.Append(" dev ").Append(oif);
        }
        if (OnLink)
        {
            sb.Append(" onlink");
        }
        foreach (RouteNextHop hop in NextHops ?? [])
        {
            sb.Append(" nexthop ").Append(hop);
        }
        if (Table != RouteTable.Main)
        {
            sb.Append(" table ").Append(Table);
        }
        if (Metric is int m)
        {
            sb.Append(" metric ").Append(m);
        }
        return sb.ToString();
    }
}

/// <summary>One path of a multipath route (struct rtnexthop and its RTA_GATEWAY).</summary>
public sealed record RouteNextHop(IPAddress Gateway, int OutputIndex, bool OnLink = false)
{
    public override string ToString() => $"via {Gateway} dev {OutputIndex}{(OnLink ? " onlink" : "")}";
}

/// <summary>Well-known routing table ids (linux/rtnetlink.h RT_TABLE_*).</summary>
public static class RouteTable
{
    /// <summary>RT_TABLE_UNSPEC: in a dump filter, every table.</summary>
    public const int Unspecified = 0;
    /// <summary>RT_TABLE_DEFAULT.</summary>
    public const int Default = 253;
    /// <summary>RT_TABLE_MAIN, where `ip route` goes.</summary>
    public const int Main = 254;
    /// <summary>RT_TABLE_LOCAL: local and broadcast routes.</summary>
    public const int Local = 255;
}

/// <summary>RTPROT_* (linux/rtnetlink.h, /etc/iproute2/rt_protos): who installed a route.</summary>
public enum RouteProtocol : byte
{
    /// <summary>Unknown.</summary>
    Unspec = 0,
    /// <summary>ICMP redirect.</summary>
    Redirect = 1,
    /// <summary>The kernel (prefix routes of addresses).</summary>
    Kernel = 2,
    /// <summary>Boot time / `ip route` default.</summary>
    Boot = 3,
    /// <summary>Administrator, static.</summary>
    Static = 4,
    /// <summary>DHCP client.</summary>
    Dhcp = 16,
    /// <summary>Twill's own protocol number (unused in rt_protos), so Twill recognises the routes it owns.</summary>
    Twill = 84,
    /// <summary>BGP daemons.</summary>
    Bgp = 186,
}

/// <summary>RT_SCOPE_* (linux/rtnetlink.h); also the scope of an address.</summary>
public enum RouteScope : byte
{
    /// <summary>Global.</summary>
    Universe = 0,
    /// <summary>Site-local.</summary>
    Site = 200,
    /// <summary>Directly attached (device routes).</summary>
    Link = 253,
    /// <summary>This host (local addresses).</summary>
    Host = 254,
    /// <summary>Nowhere.</summary>
    Nowhere = 255,
}

/// <summary>RTN_* route types (linux/rtnetlink.h).</summary>
public enum RouteType : byte
{
    /// <summary>Unknown.</summary>
    Unspec = 0,
    /// <summary>Gateway or direct route.</summary>
    Unicast = 1,
    /// <summary>Accept locally.</summary>
    Local = 2,
    /// <summary>Accept locally as broadcast, send as broadcast.</summary>
    Broadcast = 3,
    /// <summary>Accept locally as broadcast, send as unicast.</summary>
    Anycast = 4,
    /// <summary>Multicast route.</summary>
    Multicast = 5,
    /// <summary>Drop.</summary>
    Blackhole = 6,
    /// <summary>Destination is unreachable.</summary>
    Unreachable = 7,
    /// <summary>Administratively prohibited.</summary>
    Prohibit = 8,
    /// <summary>Not in this table.</summary>
    Throw = 9,
}
