using Twill.Bgp.Wire;

namespace Twill.Fuzz;

/// <summary>
/// Octets from a BGP peer: framed and decoded as the session reads its TCP stream (the first input
/// octet picks 2- or 4-octet AS_PATHs, as the OPENs would have). The codec documents
/// <see cref="BgpProtocolException"/> as its only failure. A message that decodes must encode and
/// decode again.
/// </summary>
internal static class BgpTarget
{
    public static void Run(byte[] data)
    {
        if (data.Length == 0)
        {
            return;
        }
        BgpCodecOptions options = new(FourOctetAs: (data[0] & 1) == 1);
        ReadOnlySpan<byte> stream = data.AsSpan(1);
        try
        {
            while (BgpCodec.FrameLength(stream) is int length and > 0 && length <= stream.Length)
            {
                BgpMessage message = BgpCodec.Decode(stream[..length], options);
                BgpCodec.Decode(BgpCodec.Encode(message, options), options);
                stream = stream[length..];
            }
        }
        catch (BgpProtocolException)
        {
        }
    }
}
