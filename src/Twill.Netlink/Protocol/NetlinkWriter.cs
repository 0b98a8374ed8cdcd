using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Twill.Netlink.Protocol;

/// <summary>
/// Writes netlink messages into a caller's span. Lengths that are only known once the children are
/// written (the message's nlmsg_len, a nested attribute's nla_len) are filled in through the token
/// returned when the container starts. Running out of room throws (the span bounds-checks).
/// </summary>
/// <remarks>
/// <code>
///  0               16                    16+hdr          ...
///  +---------------+---------------------+-----------------+----------------+
///  | nlmsghdr      | family header       | rtattr len|type | value | pad to 4 |
///  +---------------+---------------------+-----------------+----------------+
/// </code>
/// </remarks>
internal ref struct NetlinkWriter
{
    private readonly Span<byte> _buffer;
    private int _pos;

    public NetlinkWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _pos = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Length => _pos;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._pos];

    /// <summary>Rounds a length up to the 4-byte netlink alignment (NLMSG_ALIGN / NLA_ALIGN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Align(int length) => (length + 3) & ~3;

    /// <summary>Starts a message; returns the token for <see cref="EndMessage"/>.</summary>
    public int BeginMessage(ushort type, ushort flags, uint seq)
    {
        int start = _pos;
        NlMsgHdr h = new() { Length = 0, Type = type, Flags = flags, Seq = seq, Pid = 0 };
        WriteStruct(in h);
        return start;
    }

    /// <summary>Fills in nlmsg_len of the message started at <paramref name="token"/>.</summary>
    public readonly void EndMessage(int token) =>
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer[token..], (uint)(_pos - token));

    /// <summary>Writes a fixed struct (family header) and pads to alignment.</summary>
    public void WriteStruct<T>(in T value) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        MemoryMarshal.Write(_buffer.Slice(_pos, size), in value);
        _pos += size;
        Pad();
    }

    public void WriteAttribute(ushort type, scoped ReadOnlySpan<byte> value)
    {
        int len = Nl.AttrHeaderSize + value.Length;
        Span<byte> dst = _buffer.Slice(_pos, Align(len));
        BinaryPrimitives.WriteUInt16LittleEndian(dst, (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[2..], type);
        value.CopyTo(dst[4..]);
        dst[len..].Clear();
        _pos += dst.Length;
    }

    public void WriteFlag(ushort type) => WriteAttribute(type, []);

    public void WriteU8(ushort type, byte value) => WriteAttribute(type, [value]);

    public void WriteU16(ushort type, ushort value)
    {
        Span<byte> v = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(v, value);
        WriteAttribute(type, v);
    }

    /// <summary>A 16-bit value in network byte order (IFLA_VXLAN_PORT, NDA_PORT).</summary>
    public void WriteU16BigEndian(ushort type, ushort value)
    {
        Span<byte> v = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(v, value);
        WriteAttribute(type, v);
    }

    public void WriteU32(ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(v, value);
        WriteAttribute(type, v);
    }

    /// <summary>A NUL-terminated string (IFLA_IFNAME, IFLA_INFO_KIND).</summary>
    public void WriteString(ushort type, string value)
    {
        int byteCount = System.Text.Encoding.UTF8.GetByteCount(value);
        int len = Nl.AttrHeaderSize + byteCount + 1;
        Span<byte> dst = _buffer.Slice(_pos, Align(len));
        BinaryPrimitives.WriteUInt16LittleEndian(dst, (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[2..], type);
        System.Text.Encoding.UTF8.GetBytes(value, dst[4..]);
        dst[(4 + byteCount)..].Clear();
        _pos += dst.Length;
    }

    /// <summary>An IPv4 (4 bytes) or IPv6 (16 bytes) address in network byte order.</summary>
    public void WriteAddress(ushort type, IPAddress address)
    {
        Span<byte> v = stackalloc byte[16];
        if (!address.TryWriteBytes(v, out int written))
        {
            throw new InvalidOperationException($"address {address} could not be encoded");
        }
        WriteAttribute(type, v[..written]);
    }

    /// <summary>Starts a nested attribute; returns the token for <see cref="EndNested"/>.</summary>
    /// <remarks>NLA_F_NESTED is set unless <paramref name="nestedFlag"/> is false (VETH_INFO_PEER is a
    /// struct followed by attributes, not a pure nest; iproute2 leaves the flag off there).</remarks>
    public int BeginNested(ushort type, bool nestedFlag = true)
    {
        int start = _pos;
        Span<byte> dst = _buffer.Slice(_pos, Nl.AttrHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(dst, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[2..], nestedFlag ? (ushort)(type | Nl.AttrFNested) : type);
        _pos += Nl.AttrHeaderSize;
        return start;
    }

    /// <summary>Fills in nla_len of the nested attribute started at <paramref name="token"/>.</summary>
    public readonly void EndNested(int token) =>
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[token..], (ushort)(_pos - token));

    private void Pad()
    {
        int aligned = Align(_pos);
        _buffer[_pos..aligned].Clear();
        _pos = aligned;
    }
}
