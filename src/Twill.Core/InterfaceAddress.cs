using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Twill.Core;

/// <summary>
/// An address with its prefix length, host bits kept: <c>10.244.3.1/24</c>. Unlike
/// <see cref="IPNetwork"/>, which silently clears host bits, this is what an interface carries,
/// what <c>FLANNEL_SUBNET</c> holds, what a CNI result's <c>address</c> is and what firewall rules
/// are written from. The one type for that idea in Twill.
/// </summary>
/// <remarks>
/// One parsing rule, <see cref="TryParse"/>'s, used by every reader (subnet.env, CNI configs and
/// results, the firewall): <c>ADDRESS/LENGTH</c> where ADDRESS is whatever
/// <see cref="IPAddress.TryParse(ReadOnlySpan{char}, out IPAddress?)"/> reads (IPv4 or IPv6), then exactly
/// one slash, then LENGTH in decimal digits only (no sign, no spaces) from 0 to 32 for IPv4 or 0
/// to 128 for IPv6. A bare address without <c>/LENGTH</c> is rejected: where a single host is
/// meant, the text says <c>/32</c> or <c>/128</c>.
/// </remarks>
public readonly record struct InterfaceAddress(IPAddress Address, int PrefixLength)
{
    /// <summary>The network this address lies in (host bits cleared).</summary>
    public IPNetwork Network => new(Address, PrefixLength);

    /// <summary>Parses <c>ADDRESS/LENGTH</c> (the rule in the type's remarks).</summary>
    /// <exception cref="FormatException">Not of that form; the message quotes the text.</exception>
    public static InterfaceAddress Parse(string text) =>
        TryParse(text, out InterfaceAddress value)
            ? value
            : throw new FormatException($"'{text}' is not an address with a prefix length (e.g. 10.244.3.1/24)");

    /// <summary>Parses <c>ADDRESS/LENGTH</c> (the rule in the type's remarks); false for anything else, null included.</summary>
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
