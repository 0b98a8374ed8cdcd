using System.Buffers.Binary;
using System.Net;

namespace Twill.Bgp.Wire;

/// <summary>
/// A bounds-checked big-endian reader over one message or one field. Running past the end throws
/// <see cref="BgpProtocolException"/> with the error given at construction, so every
/// truncation maps to the NOTIFICATION the RFC names for that place.
/// </summary>
internal ref struct BgpReader(ReadOnlySpan<byte> data, BgpError error, string what)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly int Remaining => _data.Length - _position;

    public readonly bool IsEmpty => _position >= _data.Length;

    public readonly int Position => _position;

    public byte ReadByte() => Take(1)[0];

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public ReadOnlySpan<byte> ReadBytes(int count) => Take(count);

    public ReadOnlySpan<byte> ReadRest() => Take(Remaining);

    public IPAddress ReadAddress(int octets) => new(Take(octets));

    /// <summary>AFI (two octets) then SAFI (one): <see cref="BgpWriter.WriteFamily"/>'s layout.</summary>
    public BgpFamily ReadFamily() => new((Afi)ReadUInt16(), (Safi)ReadByte());

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            ThrowHelper.Throw(error, $"{what}: needs {count} more octets at offset {_position}, {Remaining} left");
        }
        ReadOnlySpan<byte> span = _data.Slice(_position, count);
        _position += count;
        return span;
    }
}
