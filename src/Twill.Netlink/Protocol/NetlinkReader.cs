using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Twill.Netlink.Protocol;

/// <summary>Walks the netlink messages in one received datagram; every length is checked before use.</summary>
internal ref struct MessageReader
{
    private ReadOnlySpan<byte> _rest;

    public MessageReader(ReadOnlySpan<byte> datagram) => _rest = datagram;

    /// <summary>Next message: its header and the whole message (header included).</summary>
    public bool TryRead(out NlMsgHdr header, out ReadOnlySpan<byte> message)
    {
        if (_rest.Length < Nl.HeaderSize)
        {
            header = default;
            message = default;
            return false;
        }
        header = MemoryMarshal.Read<NlMsgHdr>(_rest);
        if (header.Length < Nl.HeaderSize || header.Length > _rest.Length)
        {
            ThrowHelper.Malformed($"nlmsg_len {header.Length} with {_rest.Length} bytes left");
        }
        message = _rest[..(int)header.Length];
        int next = Math.Min(NetlinkWriter.Align((int)header.Length), _rest.Length);
        _rest = _rest[next..];
        return true;
    }
}

/// <summary>Iterates rtattr/nlattr TLVs; rejects any length that leaves the enclosing span.</summary>
internal ref struct AttributeReader
{
    private ReadOnlySpan<byte> _rest;

    public AttributeReader(ReadOnlySpan<byte> attributes) => _rest = attributes;

    /// <summary>Attributes after a message header and its fixed family struct.</summary>
    public static AttributeReader After<T>(ReadOnlySpan<byte> message) where T : unmanaged
    {
        int offset = Nl.HeaderSize + NetlinkWriter.Align(Unsafe.SizeOf<T>());
        return new AttributeReader(offset <= message.Length ? message[offset..] : []);
    }

    /// <summary>Next attribute; <paramref name="type"/> has the NESTED/BYTEORDER bits cleared.</summary>
    public bool TryRead(out ushort type, out ReadOnlySpan<byte> value)
    {
        if (_rest.Length < Nl.AttrHeaderSize)
        {
            type = 0;
            value = default;
            return false;
        }
        ushort len = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]) & Nl.AttrTypeMask);
        if (len < Nl.AttrHeaderSize || len > _rest.Length)
        {
            ThrowHelper.Malformed($"nla_len {len} (type {type}) with {_rest.Length} bytes left");
        }
        value = _rest[Nl.AttrHeaderSize..len];
        _rest = _rest[Math.Min(NetlinkWriter.Align(len), _rest.Length)..];
        return true;
    }
}

/// <summary>Typed views of attribute values, each checking the size it needs.</summary>
internal static class Attr
{
    public static byte U8(ReadOnlySpan<byte> v) => v.Length >= 1 ? v[0] : ThrowHelper.Short<byte>(1, v.Length);

    public static ushort U16(ReadOnlySpan<byte> v) =>
        v.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(v) : ThrowHelper.Short<ushort>(2, v.Length);

    public static ushort U16BigEndian(ReadOnlySpan<byte> v) =>
        v.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(v) : ThrowHelper.Short<ushort>(2, v.Length);

    public static uint U32(ReadOnlySpan<byte> v) =>
        v.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(v) : ThrowHelper.Short<uint>(4, v.Length);

    public static int S32(ReadOnlySpan<byte> v) => unchecked((int)U32(v));

    public static string String(ReadOnlySpan<byte> v)
    {
        int nul = v.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(nul >= 0 ? v[..nul] : v);
    }

    public static IPAddress Address(ReadOnlySpan<byte> v) => v.Length switch
    {
        4 or 16 => new IPAddress(v),
        _ => ThrowHelper.Malformed<IPAddress>($"address of {v.Length} bytes"),
    };

    public static PhysicalAddress Mac(ReadOnlySpan<byte> v) => new(v.ToArray());

    public static T Struct<T>(ReadOnlySpan<byte> message) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        if (message.Length < Nl.HeaderSize + size)
        {
            ThrowHelper.Malformed($"{typeof(T).Name} needs {size} bytes after the header, message has {message.Length}");
        }
        return MemoryMarshal.Read<T>(message[Nl.HeaderSize..]);
    }
}

internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Malformed(string what) => throw new InvalidDataException("malformed netlink message: " + what);

    [DoesNotReturn]
    public static T Malformed<T>(string what) => throw new InvalidDataException("malformed netlink message: " + what);

    [DoesNotReturn]
    public static T Short<T>(int need, int have) =>
        throw new InvalidDataException($"malformed netlink message: attribute needs {need} bytes, has {have}");
}
