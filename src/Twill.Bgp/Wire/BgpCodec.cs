using System.Buffers.Binary;

namespace Twill.Bgp.Wire;

/// <summary>What the codec must know about the session to read and write its messages.</summary>
/// <param name="FourOctetAs">Both speakers announced the 4-octet AS capability (RFC 6793): AS_PATH carries 4-octet ASNs.</param>
public readonly record struct BgpCodecOptions(bool FourOctetAs)
{
    /// <summary>Before the OPENs are exchanged (OPEN, KEEPALIVE and NOTIFICATION do not depend on it).</summary>
    public static BgpCodecOptions Default { get; } = new(FourOctetAs: true);
}

/// <summary>
/// Encodes and decodes BGP-4 messages. Every message starts with the header (RFC 4271 §4.1):
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                                                               +
/// |                           Marker (16 octets of all ones)      |
/// +                                                               +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Length               |      Type     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// Decoding never throws anything but <see cref="BgpProtocolException"/>, whatever the input.
/// </summary>
public static partial class BgpCodec
{
    public const int MarkerLength = 16;
    public const int HeaderLength = 19;

    /// <summary>RFC 4271's largest message (RFC 8654 extended messages are not negotiated).</summary>
    public const int MaxMessageLength = 4096;

    private const int LengthOffset = 16;
    private const int TypeOffset = 18;

    /// <summary>
    /// The length of the message at the start of <paramref name="buffer"/>, or 0 when fewer than 19
    /// octets have arrived. Throws for a header that cannot start a message (marker, length).
    /// </summary>
    public static int FrameLength(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < HeaderLength)
        {
            return 0;
        }
        if (buffer[..MarkerLength].IndexOfAnyExcept((byte)0xFF) >= 0)
        {
            ThrowHelper.Throw(BgpError.ConnectionNotSynchronized, "header marker is not all ones");
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[LengthOffset..]);
        if (length < HeaderLength || length > MaxMessageLength)
        {
            ThrowHelper.Throw(BgpError.BadMessageLength,
                $"header length {length} outside {HeaderLength}..{MaxMessageLength}", buffer.Slice(LengthOffset, 2).ToArray());
        }
        return length;
    }

    /// <summary>Decodes one whole message, header included (exactly <see cref="FrameLength"/> octets).</summary>
    public static BgpMessage Decode(ReadOnlySpan<byte> message, BgpCodecOptions options)
    {
        int length = FrameLength(message);
        if (length == 0 || length != message.Length)
        {
            ThrowHelper.Throw(BgpError.BadMessageLength,
                $"header says {length} octets, message has {message.Length}", length == 0 ? null : message.Slice(LengthOffset, 2).ToArray());
        }
        byte type = message[TypeOffset];
        ReadOnlySpan<byte> body = message[HeaderLength..];
        (int min, int max) = (BgpMessageType)type switch
        {
            BgpMessageType.Open => (29, MaxMessageLength),
            BgpMessageType.Update => (23, MaxMessageLength),
            BgpMessageType.Notification => (21, MaxMessageLength),
            BgpMessageType.Keepalive => (19, 19),
            BgpMessageType.RouteRefresh => (23, 23),
            _ => ThrowHelper.Throw<(int, int)>(BgpError.BadMessageType, $"unknown message type {type}", [type]),
        };
        if (length < min || length > max)
        {
            ThrowHelper.Throw(BgpError.BadMessageLength,
                $"{(BgpMessageType)type} of {length} octets (allowed {min}..{max})", message.Slice(LengthOffset, 2).ToArray());
        }
        return (BgpMessageType)type switch
        {
            BgpMessageType.Open => DecodeOpen(body),
            BgpMessageType.Update => DecodeUpdate(body, options),
            BgpMessageType.Notification => DecodeNotification(body),
            BgpMessageType.Keepalive => KeepaliveMessage.Instance,
            _ => DecodeRouteRefresh(body),
        };
    }

    /// <summary>Encodes one message, header included.</summary>
    public static byte[] Encode(BgpMessage message, BgpCodecOptions options)
    {
        BgpWriter writer = new(message is UpdateMessage ? 512 : 64);
        Encode(message, options, writer);
        return writer.ToArray();
    }

    /// <summary>Appends one message, header included, to <paramref name="writer"/>.</summary>
    public static void Encode(BgpMessage message, BgpCodecOptions options, BgpWriter writer)
    {
        int start = writer.Length;
        for (int i = 0; i < MarkerLength; i++)
        {
            writer.WriteByte(0xFF);
        }
        writer.WriteUInt16(0);
        writer.WriteByte((byte)message.Type);
        switch (message)
        {
            case OpenMessage open: EncodeOpen(open, writer); break;
            case UpdateMessage update: EncodeUpdate(update, options, writer); break;
            case NotificationMessage notification: EncodeNotification(notification, writer); break;
            case KeepaliveMessage: break;
            case RouteRefreshMessage refresh: EncodeRouteRefresh(refresh, writer); break;
            default: throw new ArgumentException($"unknown message {message.GetType().Name}", nameof(message));
        }
        int length = writer.Length - start;
        if (length > MaxMessageLength)
        {
            throw new InvalidOperationException($"{message.Type} of {length} octets exceeds {MaxMessageLength}; split it (UpdatePacker)");
        }
        writer.PatchUInt16(start + LengthOffset, (ushort)length);
    }
}
