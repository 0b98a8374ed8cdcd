using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using Twill.Netlink.Protocol;

namespace Twill.Netlink;

/// <summary>
/// Many requests, pipelined: they are encoded back to back and written in large sends (each send
/// is processed by the kernel in one go), and only the last request of each send asks for an ACK.
/// The kernel answers a request without NLM_F_ACK only when it fails, and processes a send in
/// order, so once the last ACK arrives every earlier failure has been reported. `ip -batch` instead
/// waits for each request's ACK before sending the next. Failures are reported per request; the
/// batch does not stop at the first. Requests run in queue order, so a later request may rely on
/// an earlier one (a route after the address that makes its gateway reachable).
/// One batch is used by one thread at a time; it can be refilled after <see cref="Execute"/>.
/// </summary>
public sealed class RtnlBatch
{
    /// <summary>Bytes per send: well under any socket send buffer (sk_sndbuf - 32 is the limit).</summary>
    internal const int MaxBytesPerWrite = 128 * 1024;

    /// <summary>Requests per send: bounds how many error replies can queue in the receive buffer.</summary>
    internal const int MaxMessagesPerWrite = 2048;

    private const int MaxMessageBytes = 1024;

    private readonly RtnlConnection _connection;
    private readonly List<Entry> _entries = [];
    private byte[] _buffer = new byte[64 * 1024];
    private int _length;

    internal RtnlBatch(RtnlConnection connection) => _connection = connection;

    /// <summary>Requests queued and not yet executed.</summary>
    public int Count => _entries.Count;

    /// <summary>Queues `ip route replace ...`.</summary>
    public RtnlBatch ReplaceRoute(Route route) => AddRoute(route, Rtm.NewRoute, Nl.FCreate | Nl.FReplace);

    /// <summary>Queues `ip route add ...`.</summary>
    public RtnlBatch AddRoute(Route route) => AddRoute(route, Rtm.NewRoute, Nl.FCreate | Nl.FExcl);

    /// <summary>Queues `ip route del ...`.</summary>
    public RtnlBatch DeleteRoute(Route route) => AddRoute(route, Rtm.DelRoute, 0);

    /// <summary>Queues `ip neigh replace ... nud permanent`.</summary>
    public RtnlBatch ReplaceNeighbour(Neighbour neighbour) => AddNeighbour(neighbour, Rtm.NewNeigh, Nl.FCreate | Nl.FReplace);

    /// <summary>Queues `ip neigh del ...`.</summary>
    public RtnlBatch DeleteNeighbour(Neighbour neighbour) => AddNeighbour(neighbour, Rtm.DelNeigh, 0);

    /// <summary>Queues `bridge fdb append MAC dev X dst IP self permanent`.</summary>
    public RtnlBatch AppendFdb(int index, PhysicalAddress mac, IPAddress destination, int? port = null, int? vni = null) =>
        AppendFdb(new FdbEntry(index, mac) { Destination = destination, Port = port, Vni = vni });

    /// <summary>Queues `bridge fdb append ...`.</summary>
    public RtnlBatch AppendFdb(FdbEntry entry) => AddFdb(entry, Rtm.NewNeigh, Nl.FCreate | Nl.FAppend);

    /// <summary>Queues `bridge fdb replace ...`.</summary>
    public RtnlBatch ReplaceFdb(FdbEntry entry) => AddFdb(entry, Rtm.NewNeigh, Nl.FCreate | Nl.FReplace);

    /// <summary>Queues `bridge fdb del ...`.</summary>
    public RtnlBatch DeleteFdb(FdbEntry entry) => AddFdb(entry, Rtm.DelNeigh, 0);

    /// <summary>Queues `ip addr replace ...`.</summary>
    public RtnlBatch ReplaceAddress(int index, IPAddress address, int prefixLength, bool noDad = false)
    {
        ArgumentNullException.ThrowIfNull(address);
        NetlinkWriter w = Begin(Rtm.NewAddr, new IfAddress(index, address, prefixLength));
        AddressCodec.Write(ref w, Rtm.NewAddr, Nl.FRequest | Nl.FCreate | Nl.FReplace, 0, index, address, prefixLength,
            noDad ? AddressFlags.NoDad : AddressFlags.None);
        return Commit(w);
    }

    /// <summary>Queues `ip addr del ...`.</summary>
    public RtnlBatch DeleteAddress(int index, IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        NetlinkWriter w = Begin(Rtm.DelAddr, new IfAddress(index, address, prefixLength));
        AddressCodec.Write(ref w, Rtm.DelAddr, Nl.FRequest, 0, index, address, prefixLength, AddressFlags.None);
        return Commit(w);
    }

    /// <summary>
    /// Sends every queued request and collects the failures (position in queue order, with the
    /// kernel's error). The queue is empty afterwards, whatever the outcome.
    /// </summary>
    public RtnlBatchResult Execute()
    {
        int count = _entries.Count;
        List<RtnlBatchFailure> failures = [];
        try
        {
            if (count > 0)
            {
                lock (_connection.Gate)
                {
                    ExecuteLocked(failures);
                }
            }
        }
        finally
        {
            _entries.Clear();
            _length = 0;
        }
        return new RtnlBatchResult(count, failures);
    }

    private void ExecuteLocked(List<RtnlBatchFailure> failures)
    {
        int count = _entries.Count;
        uint first = _connection.ReserveSeq(count);
        Span<byte> buffer = _buffer.AsSpan(0, _length);
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer[(_entries[i].Offset + 8)..], first + (uint)i);
        }
        int start = 0;
        while (start < count)
        {
            int startOffset = _entries[start].Offset;
            int end = start + 1;
            while (end < count && end - start < MaxMessagesPerWrite && EndOf(end) - startOffset <= MaxBytesPerWrite)
            {
                end++;
            }
            int last = end - 1;
            int flagsAt = _entries[last].Offset + 6;
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(buffer[flagsAt..]);
            BinaryPrimitives.WriteUInt16LittleEndian(buffer[flagsAt..], (ushort)(flags | Nl.FAck));
            _connection.Transport.Send(buffer[startOffset..EndOf(last)]);
            ReadUntilAck(first, start, end, failures);
            start = end;
        }
    }

    private void ReadUntilAck(uint first, int start, int end, List<RtnlBatchFailure> failures)
    {
        byte[] recv = _connection.ReceiveBuffer;
        while (true)
        {
            int n = _connection.Transport.Receive(recv);
            MessageReader reader = new(recv.AsSpan(0, n));
            while (reader.TryRead(out NlMsgHdr h, out ReadOnlySpan<byte> msg))
            {
                if (h.Type != Nl.Error)
                {
                    continue;
                }
                long position = (long)h.Seq - first;
                if (position < start || position >= end)
                {
                    continue;
                }
                ErrorMessage err = ErrorMessage.Parse(msg, h.Flags);
                Entry entry = _entries[(int)position];
                if (err.Error != 0)
                {
                    string request = Rtm.Name(entry.Type) + " " + entry.Subject;
                    failures.Add(new RtnlBatchFailure((int)position, entry.Subject,
                        new NetlinkException((Errno)(-err.Error), request, err.KernelMessage)));
                }
                if (position == end - 1)
                {
                    return;
                }
            }
        }
    }

    private int EndOf(int index) => index + 1 < _entries.Count ? _entries[index + 1].Offset : _length;

    private RtnlBatch AddRoute(Route route, ushort type, ushort flags)
    {
        ArgumentNullException.ThrowIfNull(route);
        NetlinkWriter w = Begin(type, route);
        RouteCodec.Write(ref w, type, (ushort)(Nl.FRequest | flags), 0, route);
        return Commit(w);
    }

    private RtnlBatch AddNeighbour(Neighbour neighbour, ushort type, ushort flags)
    {
        ArgumentNullException.ThrowIfNull(neighbour);
        NetlinkWriter w = Begin(type, neighbour);
        NeighbourCodec.Write(ref w, type, (ushort)(Nl.FRequest | flags), 0, neighbour);
        return Commit(w);
    }

    private RtnlBatch AddFdb(FdbEntry entry, ushort type, ushort flags)
    {
        ArgumentNullException.ThrowIfNull(entry);
        NetlinkWriter w = Begin(type, entry);
        NeighbourCodec.WriteFdb(ref w, type, (ushort)(Nl.FRequest | flags), 0, entry);
        return Commit(w);
    }

    private NetlinkWriter Begin(ushort type, object subject)
    {
        if (_buffer.Length - _length < MaxMessageBytes)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
        _entries.Add(new Entry(_length, type, subject));
        return new NetlinkWriter(_buffer.AsSpan(_length));
    }

    private RtnlBatch Commit(NetlinkWriter w)
    {
        _length += w.Length;
        return this;
    }

    private readonly record struct Entry(int Offset, ushort Type, object Subject);
}

/// <summary>The outcome of <see cref="RtnlBatch.Execute"/>.</summary>
public sealed class RtnlBatchResult
{
    internal RtnlBatchResult(int count, IReadOnlyList<RtnlBatchFailure> failures)
    {
        Count = count;
        Failures = failures;
    }

    /// <summary>Requests sent.</summary>
    public int Count { get; }

    /// <summary>The requests the kernel refused, in queue order.</summary>
    public IReadOnlyList<RtnlBatchFailure> Failures { get; }

    /// <summary>No request failed.</summary>
    public bool Succeeded => Failures.Count == 0;

    /// <summary>Throws an <see cref="AggregateException"/> of every failure's <see cref="NetlinkException"/>.</summary>
    public void ThrowIfFailed()
    {
        if (Failures.Count > 0)
        {
            throw new AggregateException($"{Failures.Count} of {Count} netlink requests failed; first: {Failures[0].Error.Message}",
                Failures.Select(f => f.Error));
        }
    }
}

/// <summary>One refused batch request: its position in the batch, the object queued (a <see cref="Route"/>,
/// <see cref="Neighbour"/>, <see cref="FdbEntry"/> or <see cref="IfAddress"/>) and the kernel's error.</summary>
public sealed record RtnlBatchFailure(int Position, object Subject, NetlinkException Error);
