using System.Buffers.Binary;
using System.Net;

namespace Twill.Bgp.Wire;

/// <summary>
/// A growable big-endian writer. A length known only after its contents are written is reserved
/// with <see cref="ReserveLength8"/> / <see cref="ReserveLength16"/> and filled by <see cref="FillLength"/>.
/// </summary>
public sealed class BgpWriter
{
    private byte[] _buffer;

    public BgpWriter(int capacity = 256) => _buffer = new byte[Math.Max(capacity, 32)];

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Length);

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Clear() => Length = 0;

    public void WriteByte(byte value) => Grow(1)[0] = value;

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Grow(2), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Grow(4), value);

    public void WriteBytes(ReadOnlySpan<byte> value) => value.CopyTo(Grow(value.Length));

    public void WriteAddress(IPAddress address)
    {
        Span<byte> span = Grow(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 16 : 4);
        if (!address.TryWriteBytes(span, out _))
        {
            throw new ArgumentException($"address {address} does not fit", nameof(address));
        }
    }

    /// <summary>AFI (two octets) then SAFI (one), as MP_REACH/MP_UNREACH and graceful restart carry a family.</summary>
    public void WriteFamily(BgpFamily family)
    {
        WriteUInt16((ushort)family.Afi);
        WriteByte((byte)family.Safi);
    }

    /// <summary>A run of NLRI prefixes (<see cref="WritePrefix"/>), as withdrawn routes and NLRI fields hold them.</summary>
    public void WritePrefixes(IEnumerable<IPNetwork> prefixes)
    {
        foreach (IPNetwork prefix in prefixes)
        {
            WritePrefix(prefix);
        }
    }

    /// <summary>
    /// An NLRI prefix (RFC 4271 §4.3): one octet of length in bits, then the fewest octets that
    /// hold it (trailing bits zero).
    /// </summary>
    public void WritePrefix(IPNetwork prefix)
    {
        int bits = prefix.PrefixLength;
        int octets = (bits + 7) / 8;
        Span<byte> address = stackalloc byte[16];
        prefix.BaseAddress.TryWriteBytes(address, out _);
        WriteByte((byte)bits);
        WriteBytes(address[..octets]);
    }

    /// <summary>Reserves a one-octet length; returns the token for <see cref="FillLength"/>.</summary>
    public LengthToken ReserveLength8()
    {
        int at = Length;
        WriteByte(0);
        return new LengthToken(at, 1);
    }

    /// <summary>Reserves a two-octet length; returns the token for <see cref="FillLength"/>.</summary>
    public LengthToken ReserveLength16()
    {
        int at = Length;
        WriteUInt16(0);
        return new LengthToken(at, 2);
    }

    /// <summary>Writes the number of bytes after the reserved slot (the slot excluded), or <paramref name="adjust"/> more.</summary>
    public void FillLength(LengthToken token, int adjust = 0)
    {
        int value = Length - token.Offset - token.Size + adjust;
        int max = token.Size == 1 ? byte.MaxValue : ushort.MaxValue;
        if (value > max)
        {
            throw new InvalidOperationException($"BGP field of {value} octets does not fit a {token.Size}-octet length");
        }
        if (token.Size == 1)
        {
            _buffer[token.Offset] = (byte)value;
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(token.Offset), (ushort)value);
        }
    }

    internal void PatchUInt16(int offset, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(offset), value);

    private Span<byte> Grow(int count)
    {
        if (Length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count));
        }
        Span<byte> span = _buffer.AsSpan(Length, count);
        Length += count;
        return span;
    }

    /// <summary>Where a reserved length lives and how wide it is.</summary>
    public readonly record struct LengthToken(int Offset, int Size);
}
