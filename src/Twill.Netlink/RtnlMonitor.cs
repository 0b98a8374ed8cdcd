using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Twill.Netlink.Protocol;
using Twill.Os;

namespace Twill.Netlink;

/// <summary>rtnetlink multicast groups to subscribe to (bit n-1 for RTNLGRP n).</summary>
[Flags]
public enum RtnlGroups : uint
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>RTNLGRP_LINK: links added, changed, deleted.</summary>
    Links = 1u << (RtnlGrp.Link - 1),
    /// <summary>RTNLGRP_NEIGH: ARP/NDP entries and bridge FDB entries.</summary>
    Neighbours = 1u << (RtnlGrp.Neigh - 1),
    /// <summary>RTNLGRP_IPV4_IFADDR.</summary>
    Ipv4Addresses = 1u << (RtnlGrp.Ipv4IfAddr - 1),
    /// <summary>RTNLGRP_IPV4_ROUTE.</summary>
    Ipv4Routes = 1u << (RtnlGrp.Ipv4Route - 1),
    /// <summary>RTNLGRP_IPV6_IFADDR.</summary>
    Ipv6Addresses = 1u << (RtnlGrp.Ipv6IfAddr - 1),
    /// <summary>RTNLGRP_IPV6_ROUTE.</summary>
    Ipv6Routes = 1u << (RtnlGrp.Ipv6Route - 1),
    /// <summary>Everything above.</summary>
    All = Links | Neighbours | Ipv4Addresses | Ipv4Routes | Ipv6Addresses | Ipv6Routes,
}

/// <summary>What an <see cref="RtnlEvent"/> reports.</summary>
public enum RtnlEventKind
{
    /// <summary>RTM_NEWLINK: a link appeared or changed.</summary>
    NewLink,
    /// <summary>RTM_DELLINK: a link was deleted.</summary>
    DeleteLink,
    /// <summary>RTM_NEWADDR.</summary>
    NewAddress,
    /// <summary>RTM_DELADDR.</summary>
    DeleteAddress,
    /// <summary>RTM_NEWROUTE.</summary>
    NewRoute,
    /// <summary>RTM_DELROUTE.</summary>
    DeleteRoute,
    /// <summary>RTM_NEWNEIGH (ARP/NDP).</summary>
    NewNeighbour,
    /// <summary>RTM_DELNEIGH (ARP/NDP).</summary>
    DeleteNeighbour,
    /// <summary>RTM_NEWNEIGH for AF_BRIDGE (FDB).</summary>
    NewFdb,
    /// <summary>RTM_DELNEIGH for AF_BRIDGE (FDB).</summary>
    DeleteFdb,
    /// <summary>
    /// The socket's receive queue overflowed (ENOBUFS): events were lost, and the kernel drops new
    /// ones until the queued ones are read. Resynchronise with dumps.
    /// </summary>
    Overrun,
}

/// <summary>One rtnetlink notification; exactly the property matching <see cref="Kind"/> is set.</summary>
public sealed record RtnlEvent(RtnlEventKind Kind)
{
    /// <summary>For NewLink/DeleteLink.</summary>
    public Link? Link { get; init; }

    /// <summary>For NewAddress/DeleteAddress.</summary>
    public IfAddress? Address { get; init; }

    /// <summary>For NewRoute/DeleteRoute.</summary>
    public Route? Route { get; init; }

    /// <summary>For NewNeighbour/DeleteNeighbour.</summary>
    public Neighbour? Neighbour { get; init; }

    /// <summary>For NewFdb/DeleteFdb.</summary>
    public FdbEntry? Fdb { get; init; }
}

/// <summary>
/// A subscription to rtnetlink events in one namespace (`ip monitor`). The socket is created in the
/// namespace on a dedicated thread, then read asynchronously (epoll) from anywhere.
/// </summary>
public sealed class RtnlMonitor : IDisposable
{
    private readonly Socket _socket;

    private RtnlMonitor(Socket socket) => _socket = socket;

    /// <summary>Subscribes to <paramref name="groups"/> in <paramref name="ns"/> (null: the calling thread's namespace).</summary>
    public static RtnlMonitor Open(NetNs? ns = null, RtnlGroups groups = RtnlGroups.All)
    {
        FileDescriptor fd = ns is null
            ? NetlinkSocket.Create((uint)groups)
            : ns.Run(() => NetlinkSocket.Create((uint)groups));
        nint raw = fd.DangerousGetHandle();
        fd.SetHandleAsInvalid(); // ownership moves to the SafeSocketHandle
        return new RtnlMonitor(new Socket(new SafeSocketHandle(raw, ownsHandle: true)));
    }

    /// <summary>
    /// Events as they arrive, until <paramref name="cancellationToken"/> fires or the monitor is
    /// disposed. An <see cref="RtnlEventKind.Overrun"/> event means some were lost.
    /// </summary>
    public async IAsyncEnumerable<RtnlEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        byte[] buffer = new byte[64 * 1024];
        while (!cancellationToken.IsCancellationRequested)
        {
            int n;
            bool overrun = false;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.NoBufferSpaceAvailable)
            {
                n = 0;
                overrun = true;
            }
            if (overrun)
            {
                yield return new RtnlEvent(RtnlEventKind.Overrun);
                continue;
            }
            foreach (RtnlEvent e in Decode(buffer.AsSpan(0, n)))
            {
                yield return e;
            }
        }
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>The events in one datagram (messages of other types are skipped).</summary>
    internal static List<RtnlEvent> Decode(ReadOnlySpan<byte> datagram)
    {
        List<RtnlEvent> events = [];
        MessageReader reader = new(datagram);
        while (reader.TryRead(out NlMsgHdr h, out ReadOnlySpan<byte> msg))
        {
            RtnlEvent? e = h.Type switch
            {
                Rtm.NewLink or Rtm.DelLink => LinkCodec.Decode(msg) is { } link
                    ? new RtnlEvent(h.Type == Rtm.NewLink ? RtnlEventKind.NewLink : RtnlEventKind.DeleteLink) { Link = link }
                    : null,
                Rtm.NewAddr or Rtm.DelAddr => AddressCodec.Decode(msg) is { } a
                    ? new RtnlEvent(h.Type == Rtm.NewAddr ? RtnlEventKind.NewAddress : RtnlEventKind.DeleteAddress) { Address = a }
                    : null,
                Rtm.NewRoute or Rtm.DelRoute => RouteCodec.Decode(msg) is { } r
                    ? new RtnlEvent(h.Type == Rtm.NewRoute ? RtnlEventKind.NewRoute : RtnlEventKind.DeleteRoute) { Route = r }
                    : null,
                Rtm.NewNeigh or Rtm.DelNeigh => DecodeNeighbour(h.Type, msg),
                _ => null,
            };
            if (e is not null)
            {
                events.Add(e);
            }
        }
        return events;
    }

    private static RtnlEvent? DecodeNeighbour(ushort type, ReadOnlySpan<byte> msg)
    {
        if (NeighbourCodec.DecodeFdb(msg) is { } fdb)
        {
            return new RtnlEvent(type == Rtm.NewNeigh ? RtnlEventKind.NewFdb : RtnlEventKind.DeleteFdb) { Fdb = fdb };
        }
        return NeighbourCodec.Decode(msg) is { } n
            ? new RtnlEvent(type == Rtm.NewNeigh ? RtnlEventKind.NewNeighbour : RtnlEventKind.DeleteNeighbour) { Neighbour = n }
            : null;
    }
}
