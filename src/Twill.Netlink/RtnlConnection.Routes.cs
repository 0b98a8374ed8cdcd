using System.Net.Sockets;
using Twill.Netlink.Protocol;

namespace Twill.Netlink;

public sealed partial class RtnlConnection
{
    /// <summary>`ip route replace ...`: adds the route or replaces the one with the same destination, table, tos and metric.</summary>
    public void ReplaceRoute(Route route) => ModifyRoute(Rtm.NewRoute, Nl.FCreate | Nl.FReplace, route);

    /// <summary>`ip route add ...`; EEXIST when a route with that destination, table and metric exists.</summary>
    public void AddRoute(Route route) => ModifyRoute(Rtm.NewRoute, Nl.FCreate | Nl.FExcl, route);

    /// <summary>
    /// `ip route del ...`: matches destination, table and metric, and gateway/device when set (any
    /// protocol, type, and scope unless <see cref="Route.Scope"/> is given). ESRCH when not found.
    /// </summary>
    public void DeleteRoute(Route route) => ModifyRoute(Rtm.DelRoute, 0, route);

    /// <summary>
    /// `ip route show table all [proto P]` (or `table T`): the kernel filters by table and protocol.
    /// <paramref name="table"/> null means every table, including local.
    /// </summary>
    public IReadOnlyList<Route> DumpRoutes(AddressFamily family, int? table = null, RouteProtocol? protocol = null) =>
        Dump((family, table, protocol), static (ref NetlinkWriter w, uint seq, (AddressFamily Family, int? Table, RouteProtocol? Protocol) s) =>
            RouteCodec.WriteDump(ref w, seq, s.Family, s.Table, s.Protocol), RouteCodec.Decode, "RTM_GETROUTE dump");

    private void ModifyRoute(ushort type, ushort flags, Route route)
    {
        ArgumentNullException.ThrowIfNull(route);
        Execute((type, flags, route), static (ref NetlinkWriter w, uint seq, (ushort Type, ushort Flags, Route Route) s) =>
            RouteCodec.Write(ref w, s.Type, (ushort)(Nl.FRequest | Nl.FAck | s.Flags), seq, s.Route), static ((ushort Type, ushort Flags, Route Route) s) => s.Route.ToString());
    }
}
