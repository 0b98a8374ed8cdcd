using Twill.Netlink;
using Twill.Netlink.Protocol;

namespace Twill.Fuzz;

/// <summary>
/// One datagram from the kernel: the monitor's decoding, then every message through every decoder
/// (a dump hands each message to the decoder of what it asked for, whatever type the header names)
/// and the NLMSG_ERROR parser. The decoders' only failure is <see cref="InvalidDataException"/>.
/// </summary>
internal static class NetlinkTarget
{
    public static void Run(byte[] data)
    {
        try
        {
            RtnlMonitor.Decode(data);
        }
        catch (InvalidDataException)
        {
        }
        try
        {
            MessageReader reader = new(data);
            while (reader.TryRead(out NlMsgHdr header, out ReadOnlySpan<byte> message))
            {
                Each(message, header.Flags);
            }
        }
        catch (InvalidDataException)
        {
        }
    }

    private static void Each(ReadOnlySpan<byte> message, ushort flags)
    {
        try { LinkCodec.Decode(message); } catch (InvalidDataException) { }
        try { AddressCodec.Decode(message); } catch (InvalidDataException) { }
        try { RouteCodec.Decode(message); } catch (InvalidDataException) { }
        try { NeighbourCodec.Decode(message); } catch (InvalidDataException) { }
        try { NeighbourCodec.DecodeFdb(message); } catch (InvalidDataException) { }
        try { ErrorMessage.Parse(message, flags); } catch (InvalidDataException) { }
    }
}
