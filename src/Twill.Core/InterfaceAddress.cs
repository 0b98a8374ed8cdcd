using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Twill.Core;

/// <summary>
/// An address with its prefix length, host bits kept: <c>10.244.3.1/24</c>. Unlike
/// <see cref="IPNetwork"/>, which silently clears host bits, this is what an interface carries and
/// what <c>FLANNEL_SUBNET</c> holds.
/// </summary>
public readonly record struct InterfaceAddress(IPAddress Address, int PrefixLength)
{
    /// <summary>The network this address lies in (host bits cleared).</summary>
    public IPNetwork Network => new(Address, PrefixLength);

    public static InterfaceAddress Parse(string text) =>
        TryParse(text, out InterfaceAddress value)
            ? value
            : throw new FormatException($"'{text}' is not an address with a prefix length (e.g. 10.244.3.1/24)");

    public static bool TryParse([NotNullWhen(true)] string? text, out InterfaceAddress value)
    {
        value = default;
        if (text is null)
        {
            return false;
        }
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0
            || !IPAddress.TryParse(text.AsSpan(0, slash), out IPAddress? address)
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length))
        {
            return false;
        }
        int max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (length > max)
        {
            return false;
        }
        value = new InterfaceAddress(address, length);
        return true;
    }

    /// <summary>The first host address of a network with its prefix: 10.244.3.0/24 → 10.244.3.1/24.</summary>
    public static InterfaceAddress FirstHost(IPNetwork network)
    {
        byte[] bytes = network.BaseAddress.GetAddressBytes();
        for (int i = bytes.Length - 1; i >= 0; i--)
        {
            if (++bytes[i] != 0)
            {
                break;
            }
        }
        return new InterfaceAddress(new IPAddress(bytes), network.PrefixLength);
    }

    public override string ToString() => $"{Address}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";
}
