namespace Twill.Bgp.Wire;

public static partial class BgpCodec
{
    /// <summary>
    /// NOTIFICATION body (RFC 4271 §4.5):
    /// <code>
    ///  0                   1                   2                   3
    ///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// | Error code    | Error subcode |   Data (variable)             |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// </code>
    /// Unknown codes are kept as they are: a NOTIFICATION is only ever reported, never answered.
    /// </summary>
    private static NotificationMessage DecodeNotification(ReadOnlySpan<byte> body) =>
        new((BgpErrorCode)body[0], body[1], body[2..].ToArray());

    private static void EncodeNotification(NotificationMessage message, BgpWriter writer)
    {
        writer.WriteByte((byte)message.Code);
        writer.WriteByte(message.Subcode);
        writer.WriteBytes(message.Data);
    }

    /// <summary>
    /// ROUTE-REFRESH body (RFC 2918 §3):
    /// <code>
    ///  0       7      15      23      31
    /// +-------+-------+-------+-------+
    /// |      AFI      | Res.  | SAFI  |
    /// +-------+-------+-------+-------+
    /// </code>
    /// </summary>
    private static RouteRefreshMessage DecodeRouteRefresh(ReadOnlySpan<byte> body)
    {
        BgpReader r = new(body, BgpError.BadMessageLength, "ROUTE-REFRESH");
        Afi afi = (Afi)r.ReadUInt16();
        r.ReadByte();
        Safi safi = (Safi)r.ReadByte();
        return new RouteRefreshMessage(new BgpFamily(afi, safi));
    }

    private static void EncodeRouteRefresh(RouteRefreshMessage message, BgpWriter writer)
    {
        writer.WriteUInt16((ushort)message.Family.Afi);
        writer.WriteByte(0);
        writer.WriteByte((byte)message.Family.Safi);
    }
}
