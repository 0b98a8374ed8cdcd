using Twill.Netlink.Protocol;

namespace Twill.Netlink;

/// <summary>
/// A NETLINK_ROUTE socket bound to one network namespace, with strict checking and extended ACK
/// on, and its own sequence numbers. Requests are synchronous (short kernel round trips). Safe to
/// share between threads (requests are serialised). Verbs mirror `ip` and `bridge`; each doc
/// comment names the equivalent command.
/// </summary>
public sealed partial class RtnlConnection : IDisposable
{
    /// <summary>Bounded retries of a dump the kernel flags NLM_F_DUMP_INTR (changed while dumping).</summary>
    private const int DumpAttempts = 10;

    private readonly INetlinkTransport _transport;
    private readonly Lock _gate = new();
    // Not zeroed: the writer clears what it skips and only received bytes are read. A short-lived
    // process (a CNI plugin) then never faults in the pages a few small messages do not reach.
    private readonly byte[] _send = GC.AllocateUninitializedArray<byte>(16 * 1024);
    private readonly byte[] _recv = GC.AllocateUninitializedArray<byte>(64 * 1024);
    private uint _seq;

    internal RtnlConnection(INetlinkTransport transport)
    {
        _transport = transport;
        _seq = (uint)Environment.TickCount;
    }

    /// <summary>A connection in the calling thread's network namespace.</summary>
    public static RtnlConnection Open() => new(new SocketTransport(NetlinkSocket.Create(0)));

    /// <summary>
    /// A connection in <paramref name="ns"/>. The socket is created on a short-lived dedicated
    /// thread that enters the namespace and does nothing else; the calling thread and the thread
    /// pool are never moved. The socket stays in that namespace and may be used from any thread.
    /// </summary>
    public static RtnlConnection Open(NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return new(new SocketTransport(ns.Run(static () => NetlinkSocket.Create(0))));
    }

    /// <summary>Opens a batch: many requests written back to back, acknowledged together.</summary>
    public RtnlBatch CreateBatch() => new(this);

    public void Dispose() => _transport.Dispose();

    internal Lock Gate => _gate;

    internal INetlinkTransport Transport => _transport;

    internal byte[] ReceiveBuffer => _recv;

    internal uint NextSeq() => ++_seq;

    /// <summary>Reserves <paramref name="count"/> consecutive sequence numbers; returns the first.</summary>
    internal uint ReserveSeq(int count)
    {
        uint first = _seq + 1;
        _seq += (uint)count;
        return first;
    }

    internal delegate void Encoder<TState>(ref NetlinkWriter w, uint seq, TState state);

    internal delegate T? Decoder<T>(ReadOnlySpan<byte> message);

    /// <summary>Sends one request that asks for an ACK and waits for it; throws the kernel's error.</summary>
    internal void Execute<TState>(TState state, Encoder<TState> encode, Func<TState, string> describe)
    {
        lock (_gate)
        {
            uint seq = Send(state, encode, out ushort type);
            WaitAck(seq, type, state, describe);
        }
    }

    /// <summary>Encodes one request under a fresh sequence number and sends it; the caller holds the gate.</summary>
    private uint Send<TState>(TState state, Encoder<TState> encode, out ushort type)
    {
        uint seq = NextSeq();
        NetlinkWriter w = new(_send);
        encode(ref w, seq, state);
        type = BitConverter.ToUInt16(_send, 4); // nlmsg_type, for the error text
        _transport.Send(w.Written);
        return seq;
    }

    private void WaitAck<TState>(uint seq, ushort type, TState state, Func<TState, string> describe)
    {
        while (true)
        {
            int n = _transport.Receive(_recv);
            MessageReader reader = new(_recv.AsSpan(0, n));
            while (reader.TryRead(out NlMsgHdr h, out ReadOnlySpan<byte> msg))
            {
                if (h.Seq != seq || h.Type != Nl.Error)
                {
                    continue; // a late reply to an earlier, abandoned request
                }
                ErrorMessage err = ErrorMessage.Parse(msg, h.Flags);
                if (err.Error != 0)
                {
                    throw new NetlinkException((Errno)(-err.Error), Rtm.Name(type) + " " + describe(state), err.KernelMessage);
                }
                return;
            }
        }
    }

    /// <summary>A get request answered by one message (no ACK asked): the decoded reply.</summary>
    internal T Get<TState, T>(TState state, Encoder<TState> encode, Decoder<T> decode, Func<TState, string> describe) where T : class
    {
        lock (_gate)
        {
            uint seq = Send(state, encode, out ushort type);
            while (true)
            {
                int n = _transport.Receive(_recv);
                MessageReader reader = new(_recv.AsSpan(0, n));
                while (reader.TryRead(out NlMsgHdr h, out ReadOnlySpan<byte> msg))
                {
                    if (h.Seq != seq)
                    {
                        continue;
                    }
                    if (h.Type == Nl.Error)
                    {
                        ErrorMessage err = ErrorMessage.Parse(msg, h.Flags);
                        throw new NetlinkException((Errno)(-err.Error), Rtm.Name(type) + " " + describe(state), err.KernelMessage);
                    }
                    T? item = decode(msg);
                    if (item is not null)
                    {
                        return item;
                    }
                }
            }
        }
    }

    /// <summary>
    /// A dump: reads the multipart reply to NLMSG_DONE. If any part carries NLM_F_DUMP_INTR (the
    /// table changed mid-dump) the result may be inconsistent, so the whole dump is repeated.
    /// </summary>
    internal List<T> Dump<TState, T>(TState state, Encoder<TState> encode, Decoder<T> decode, string what)
    {
        lock (_gate)
        {
            for (int attempt = 0; attempt < DumpAttempts; attempt++)
            {
                uint seq = Send(state, encode, out _);
                List<T> items = [];
                bool interrupted = false, done = false;
                while (!done)
                {
                    int n = _transport.Receive(_recv);
                    MessageReader reader = new(_recv.AsSpan(0, n));
                    while (reader.TryRead(out NlMsgHdr h, out ReadOnlySpan<byte> msg))
                    {
                        if (h.Seq != seq)
                        {
                            continue;
                        }
                        interrupted |= (h.Flags & Nl.FDumpIntr) != 0;
                        if (h.Type == Nl.Done)
                        {
                            int error = ErrorMessage.DoneError(msg);
                            if (error < 0)
                            {
                                throw new NetlinkException((Errno)(-error), what);
                            }
                            done = true;
                            break;
                        }
                        if (h.Type == Nl.Error)
                        {
                            ErrorMessage err = ErrorMessage.Parse(msg, h.Flags);
                            if (err.Error != 0)
                            {
                                throw new NetlinkException((Errno)(-err.Error), what, err.KernelMessage);
                            }
                            continue;
                        }
                        T? item = decode(msg);
                        if (item is not null)
                        {
                            items.Add(item);
                        }
                    }
                }
                if (!interrupted)
                {
                    return items;
                }
            }
            throw new NetlinkException(Errno.EINTR, $"{what}: dump interrupted {DumpAttempts} times in a row");
        }
    }

    /// <summary>Runs <paramref name="body"/> with the namespace fd kept open (for IFLA_NET_NS_FD).</summary>
    internal static T WithFd<T>(NetNs ns, Func<int, T> body)
    {
        bool added = false;
        ns.Handle.DangerousAddRef(ref added);
        try
        {
            return body(ns.Handle.Fd);
        }
        finally
        {
            if (added)
            {
                ns.Handle.DangerousRelease();
            }
        }
    }
}
