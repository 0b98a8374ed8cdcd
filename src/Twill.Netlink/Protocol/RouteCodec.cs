using System.Net;
using System.Net.Sockets;

namespace Twill.Netlink.Protocol;

/// <summary>RTM_*ROUTE: struct rtmsg then RTA_DST / RTA_GATEWAY / RTA_OIF / RTA_PRIORITY / RTA_TABLE / RTA_PREFSRC / RTA_MULTIPATH.</summary>
internal static class RouteCodec
{
    public static void Write(ref NetlinkWriter w, ushort type, ushort flags, uint seq, Route route)
    {
        bool delete = type == Rtm.DelRoute;
        IPNetwork dst = route.Destination;
        RouteScope scope = route.Scope ?? (delete ? RouteScope.Nowhere : DefaultScope(route));
        int m = w.BeginMessage(type, flags, seq);
        w.WriteStruct(new RtMsg
        {
            Family = AddressCodec.Family(route.Family),
            DstLen = (byte)dst.PrefixLength,
            Table = route.Table is > 0 and < 256 ? (byte)route.Table : (byte)0,
            // A delete matches any protocol and type: the destination, table, metric and next hop identify the route.
            Protocol = delete ? (byte)0 : (byte)route.Protocol,
            Scope = (byte)scope,
            Type = delete ? (byte)0 : (byte)route.Type,
            Flags = route.OnLink ? Rta.NhFOnLink : 0,
        });
        if (dst.PrefixLength > 0)
        {
            w.WriteAddress(Rta.Dst, dst.BaseAddress);
        }
        if (route.Table != RouteTable.Unspecified)
        {
            w.WriteU32(Rta.Table, (uint)route.Table);
        }
        if (route.Gateway is { } gw)
        {
            if (gw.AddressFamily != route.Family)
            {
                throw new ArgumentException($"route {route}: gateway {gw} is not in the destination's family", nameof(route));
            }
            w.WriteAddress(Rta.Gateway, gw);
        }
        if (route.OutputIndex is int oif)
        {
            w.WriteU32(Rta.Oif, (uint)oif);
        }
        if (route.NextHops is { Count: > 1 } hops)
        {
            WriteMultipath(ref w, route, hops);
        }
        if (route.Metric is int metric)
        {
            w.WriteU32(Rta.Priority, (uint)metric);
        }
        if (route.Source is { } src)
        {
            w.WriteAddress(Rta.PrefSrc, src);
        }
        w.EndMessage(m);
    }

    /// <summary>
    /// RTA_MULTIPATH: a run of struct rtnexthop {u16 len; u8 flags; u8 hops; s32 ifindex}, each
    /// followed by its own attributes (RTA_GATEWAY) and with len covering them, as iproute2 sends it.
    /// </summary>
    private static void WriteMultipath(ref NetlinkWriter w, Route route, IReadOnlyList<RouteNextHop> hops)
    {
        int nest = w.BeginNested(Rta.Multipath, nestedFlag: false);
        foreach (RouteNextHop hop in hops)
        {
            if (hop.Gateway.AddressFamily != route.Family)
            {
                throw new ArgumentException($"route {route}: next hop {hop.Gateway} is not in the destination's family", nameof(route));
            }
            int start = w.Length;
            w.WriteStruct(new RtNextHop { Flags = hop.OnLink ? (byte)Rta.NhFOnLink : (byte)0, IfIndex = hop.OutputIndex });
            w.WriteAddress(Rta.Gateway, hop.Gateway);
            // rtnh_len is the struct's first u16, like nla_len: the same fix-up closes it.
            w.EndNested(start);
        }
        w.EndNested(nest);
    }

    // The kernel never sends a prefix longer than its family, a destination of the other family or
    // host bits past the prefix; IPNetwork throws ArgumentException on each, which is no netlink error.
    private static IPNetwork Destination(RtMsg rt, IPAddress dst)
    {
        int bits = dst.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if ((bits == 32) != (rt.Family == Af.Inet) || rt.DstLen > bits)
        {
            return ThrowHelper.Malformed<IPNetwork>($"route to {dst}/{rt.DstLen} in an rtmsg of family {rt.Family}");
        }
        Span<byte> bytes = stackalloc byte[16];
        dst.TryWriteBytes(bytes, out int length);
        for (int i = 0; i < length; i++)
        {
            int kept = Math.Clamp(rt.DstLen - (i * 8), 0, 8);
            if ((bytes[i] & (0xff >> kept)) != 0)
            {
                return ThrowHelper.Malformed<IPNetwork>($"route to {dst}/{rt.DstLen} has host bits set");
            }
        }
        return new IPNetwork(dst, rt.DstLen);
    }

    private static List<RouteNextHop> ReadMultipath(ReadOnlySpan<byte> value)
    {
        List<RouteNextHop> hops = [];
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<RtNextHop>();
        while (value.Length >= size)
        {
            RtNextHop nh = System.Runtime.InteropServices.MemoryMarshal.Read<RtNextHop>(value);
            if (nh.Length < size || nh.Length > value.Length)
            {
                ThrowHelper.Malformed($"rtnh_len {nh.Length} with {value.Length} bytes left");
            }
            IPAddress? gw = null;
            AttributeReader attrs = new(value[size..nh.Length]);
            while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> v))
            {
                if (type == Rta.Gateway)
                {
                    gw = Attr.Address(v);
                }
            }
            if (gw is not null)
            {
                hops.Add(new RouteNextHop(gw, nh.IfIndex, (nh.Flags & Rta.NhFOnLink) != 0));
            }
            value = value[Math.Min(NetlinkWriter.Align(nh.Length), value.Length)..];
        }
        return hops;
    }

    /// <summary>Like ip: host scope for local routes, link scope for device routes without a gateway (a multipath route has its gateways in RTA_MULTIPATH).</summary>
    private static RouteScope DefaultScope(Route route) => route.Type switch
    {
        RouteType.Local => RouteScope.Host,
        RouteType.Unicast when route.Gateway is null && route.NextHops is not { Count: > 1 } => RouteScope.Link,
        _ => RouteScope.Universe,
    };

    /// <summary>A strict dump request: the kernel filters by table and protocol itself.</summary>
    public static void WriteDump(ref NetlinkWriter w, uint seq, AddressFamily family, int? table, RouteProtocol? protocol)
    {
        int m = w.BeginMessage(Rtm.GetRoute, Nl.FRequest | Nl.FDump, seq);
        w.WriteStruct(new RtMsg
        {
            Family = AddressCodec.Family(family),
            Table = table is > 0 and < 256 ? (byte)table.Value : (byte)0,
            Protocol = protocol is { } p ? (byte)p : (byte)0,
        });
        if (table is int t and > 0)
        {
            w.WriteU32(Rta.Table, (uint)t);
        }
        w.EndMessage(m);
    }

    public static Route? Decode(ReadOnlySpan<byte> message)
    {
        RtMsg rt = Attr.Struct<RtMsg>(message);
        if (rt.Family is not (Af.Inet or Af.Inet6))
        {
            return null;
        }
        IPAddress? dst = null, gw = null, src = null;
        int? oif = null, metric = null;
        List<RouteNextHop>? hops = null;
        int table = rt.Table;
        AttributeReader attrs = AttributeReader.After<RtMsg>(message);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Rta.Dst: dst = Attr.Address(value); break;
                case Rta.Gateway: gw = Attr.Address(value); break;
                case Rta.Oif: oif = (int)Attr.U32(value); break;
                case Rta.Priority: metric = (int)Attr.U32(value); break;
                case Rta.PrefSrc: src = Attr.Address(value); break;
                case Rta.Table: table = (int)Attr.U32(value); break;
                case Rta.Multipath: hops = ReadMultipath(value); break;
                default: break;
            }
        }
        dst ??= rt.Family == Af.Inet ? IPAddress.Any : IPAddress.IPv6Any;
        return new Route(Destination(rt, dst))
        {
            Gateway = gw,
            OutputIndex = oif,
            OnLink = (rt.Flags & Rta.NhFOnLink) != 0,
            Scope = (RouteScope)rt.Scope,
            Table = table,
            Metric = metric,
            Protocol = (RouteProtocol)rt.Protocol,
            Type = (RouteType)rt.Type,
            Source = src,
            NextHops = hops,
        };
    }
}
