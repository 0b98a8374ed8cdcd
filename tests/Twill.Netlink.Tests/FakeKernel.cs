using System.Buffers.Binary;
using Twill.Netlink.Protocol;

namespace Twill.Netlink.Tests;

/// <summary>
/// An in-memory stand-in for the kernel: records every send and answers it with the datagrams a
/// test's handler returns. Receiving with nothing queued fails the test (the real socket would block).
/// </summary>
internal sealed class FakeKernel : INetlinkTransport
{
    private readonly Func<byte[], IEnumerable<byte[]>> _answer;
    private readonly Queue<byte[]> _replies = new();

    public FakeKernel(Func<byte[], IEnumerable<byte[]>> answer) => _answer = answer;

    public List<byte[]> Sends { get; } = [];

    public void Send(ReadOnlySpan<byte> data)
    {
        byte[] copy = data.ToArray();
        Sends.Add(copy);
        foreach (byte[] d in _answer(copy))
        {
            _replies.Enqueue(d);
        }
    }

    public int Receive(Span<byte> buffer)
    {
        if (!_replies.TryDequeue(out byte[]? d))
        {
            throw new InvalidOperationException("receive with nothing queued: the real socket would block forever");
        }
        d.CopyTo(buffer);
        return d.Length;
    }

    public void Dispose()
    {
    }

    /// <summary>The (header, whole message) pairs in one send.</summary>
    public static List<(NlMsgHdr Header, byte[] Message)> Messages(byte[] datagram)
    {
        List<(NlMsgHdr, byte[])> list = [];
        MessageReader r = new(datagram);
        while (r.TryRead(out NlMsgHdr h, out ReadOnlySpan<byte> m))
        {
            list.Add((h, m.ToArray()));
        }
        return list;
    }

    public static byte[] Message(ushort type, ushort flags, uint seq, byte[] payload)
    {
        byte[] m = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)m.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), seq);
        payload.CopyTo(m, 16);
        return m;
    }

    /// <summary>NLMSG_ERROR, capped: error 0 is an ACK.</summary>
    public static byte[] Ack(uint seq, int error = 0)
    {
        byte[] payload = new byte[20];
        BinaryPrimitives.WriteInt32LittleEndian(payload, error);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(12), seq);
        return Message(Nl.Error, Nl.FCapped, seq, payload);
    }

    public static byte[] Done(uint seq, ushort flags = Nl.FMulti, int error = 0) =>
        Message(Nl.Done, flags, seq, BitConverter.GetBytes(error));

    /// <summary>The captured route fixture re-stamped with a sequence number and flags.</summary>
    public static byte[] Route(uint seq, ushort flags)
    {
        byte[] m = Fixtures.OnlinkRoute;
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), seq);
        return m;
    }

    public static byte[] Concat(params byte[][] messages) => [.. messages.SelectMany(m => m)];
}
