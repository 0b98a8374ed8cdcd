namespace Twill.Bgp.Tests;

internal static class Hex
{
    /// <summary>Bytes from hex written with spaces and line breaks for reading.</summary>
    public static byte[] Parse(string hex) =>
        Convert.FromHexString(string.Concat(hex.Where(Uri.IsHexDigit)));

    public static string Format(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>A BGP header (marker, length, type) in front of <paramref name="bodyHex"/>.</summary>
    public static byte[] Message(byte type, string bodyHex)
    {
        byte[] body = Parse(bodyHex);
        int length = 19 + body.Length;
        return [.. Enumerable.Repeat((byte)0xFF, 16), (byte)(length >> 8), (byte)length, type, .. body];
    }
}
