using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Twill.Core;

/// <summary>
/// Prefix arithmetic for IPv4 and IPv6, on <see cref="IPNetwork"/> values. An address is handled as
/// a <see cref="UInt128"/> (IPv4 in the low 32 bits), so one code path serves both families. Pure.
/// </summary>
public static class SubnetMath
{
    /// <summary>32 for IPv4, 128 for IPv6.</summary>
    public static int AddressBits(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => 32,
        AddressFamily.InterNetworkV6 => 128,
        _ => throw new ArgumentException($"address family {family} is neither IPv4 nor IPv6", nameof(family)),
    };

    /// <summary>The address as a number (IPv4 in the low 32 bits).</summary>
    public static UInt128 ToNumber(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
        {
            throw new ArgumentException($"cannot read address {address}", nameof(address));
        }
        UInt128 value = 0;
        for (int i = 0; i < written; i++)
        {
            value = (value << 8) | bytes[i];
        }
        return value;
    }

    /// <summary>The address with this number in the given family.</summary>
    public static IPAddress ToAddress(UInt128 value, AddressFamily family)
    {
        int length = AddressBits(family) / 8;
        if (length == 4 && value > uint.MaxValue)
        {
            throw new OverflowException($"{value} is beyond the IPv4 address space");
        }
        Span<byte> bytes = stackalloc byte[length];
        for (int i = length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)(value & 0xff);
            value >>= 8;
        }
        return new IPAddress(bytes);
    }

    /// <summary>How many addresses a prefix of this length holds, as a number of addresses (2^(bits-length)).
    /// For an IPv6 /0 this does not fit: <see cref="UInt128.MaxValue"/> is returned.</summary>
    public static UInt128 Size(int prefixLength, AddressFamily family)
    {
        int hostBits = AddressBits(family) - prefixLength;
        return hostBits >= 128 ? UInt128.MaxValue : UInt128.One << hostBits;
    }

    /// <summary>True when every host bit of the address (beyond <paramref name="prefixLength"/>) is zero.</summary>
    public static bool IsAligned(IPAddress address, int prefixLength)
    {
        UInt128 number = ToNumber(address);
        return Mask(number, prefixLength, address.AddressFamily) == number;
    }

    /// <summary>The address number with every bit beyond <paramref name="prefixLength"/> cleared: its network's number.</summary>
    public static UInt128 Mask(UInt128 number, int prefixLength, AddressFamily family)
    {
        int hostBits = AddressBits(family) - prefixLength;
        if (hostBits <= 0)
        {
            return number;
        }
        return hostBits >= 128 ? 0 : number & ~((UInt128.One << hostBits) - 1);
    }

    /// <summary>The first address after the network: 10.244.0.0/16 → 10.245.0.0 (as a number; may be 2^32 for IPv4).</summary>
    public static UInt128 EndExclusive(IPNetwork network) =>
        ToNumber(network.BaseAddress) + Size(network.PrefixLength, network.BaseAddress.AddressFamily);

    /// <summary>The last address of the network: 10.244.0.0/16 → 10.244.255.255.</summary>
    public static IPAddress LastAddress(IPNetwork network)
    {
        AddressFamily family = network.BaseAddress.AddressFamily;
        UInt128 size = Size(network.PrefixLength, family);
        UInt128 last = size == UInt128.MaxValue ? UInt128.MaxValue : ToNumber(network.BaseAddress) + size - 1;
        return ToAddress(last, family);
    }

    /// <summary>How many subnets of <paramref name="subnetLength"/> the network splits into.</summary>
    public static UInt128 SubnetCount(IPNetwork network, int subnetLength)
    {
        CheckSubnetLength(network, subnetLength);
        int bits = subnetLength - network.PrefixLength;
        return bits >= 128 ? UInt128.MaxValue : UInt128.One << bits;
    }

    /// <summary>The <paramref name="index"/>-th subnet (from 0) of <paramref name="subnetLength"/> in the network:
    /// (10.244.0.0/16, 24, 3) → 10.244.3.0/24.</summary>
    public static IPNetwork NthSubnet(IPNetwork network, int subnetLength, UInt128 index)
    {
        UInt128 count = SubnetCount(network, subnetLength);
        if (index >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"{network} holds {count} /{subnetLength} subnets; there is no subnet number {index}");
        }
        AddressFamily family = network.BaseAddress.AddressFamily;
        UInt128 start = ToNumber(network.BaseAddress) + index * Size(subnetLength, family);
        return new IPNetwork(ToAddress(start, family), subnetLength);
    }

    /// <summary>The index of a subnet within a network (inverse of <see cref="NthSubnet"/>).</summary>
    public static UInt128 IndexOf(IPNetwork network, IPNetwork subnet)
    {
        if (!Contains(network, subnet))
        {
            throw new ArgumentException($"{subnet} is not inside {network}", nameof(subnet));
        }
        return (ToNumber(subnet.BaseAddress) - ToNumber(network.BaseAddress)) / Size(subnet.PrefixLength, subnet.BaseAddress.AddressFamily);
    }

    /// <summary>True when <paramref name="inner"/> lies entirely inside <paramref name="outer"/> (same family).</summary>
    public static bool Contains(IPNetwork outer, IPNetwork inner) =>
        outer.BaseAddress.AddressFamily == inner.BaseAddress.AddressFamily
        && inner.PrefixLength >= outer.PrefixLength
        && outer.Contains(inner.BaseAddress);

    /// <summary>True when the two networks share at least one address (same family).</summary>
    public static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily
        && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));

    /// <summary>
    /// Parses <c>10.244.0.0/16</c> strictly: unlike <see cref="IPNetwork.Parse(string)"/>, which silently
    /// clears host bits (and Go's <c>net.ParseCIDR</c>, which Flannel uses, likewise), an address with
    /// host bits set is an error, since it is almost always a typo for another network.
    /// </summary>
    public static bool TryParseNetwork([NotNullWhen(true)] string? text, out IPNetwork network, [NotNullWhen(false)] out string? error)
    {
        error = TryReadPrefix(text, '/', out network) switch
        {
            PrefixTextError.None => null,
            PrefixTextError.Empty => "is empty",
            PrefixTextError.NoSeparator => "is not a CIDR (expected e.g. 10.244.0.0/16)",
            PrefixTextError.BadAddress => "is not a CIDR: the address part is not an IP address",
            PrefixTextError.BadLength => $"is not a CIDR: the prefix length must be 0-{AddressBits(network.BaseAddress.AddressFamily)}",
            _ => $"has host bits set (did you mean {network}?)",
        };
        return error is null;
    }

    /// <summary>
    /// Reads <c>address&lt;separator&gt;length</c> (<c>10.244.0.0/16</c>, or Flannel's lease-key part
    /// <c>10.244.0.0-16</c>) strictly: the address as <see cref="TryParseAddress"/> reads it, the length
    /// plain decimal within the family, no host bits. Callers word the error for their own text. On
    /// <see cref="PrefixTextError.BadLength"/>, <paramref name="network"/> is the address as a host
    /// route (so the family is known); on <see cref="PrefixTextError.HostBits"/>, the network meant.
    /// </summary>
    public static PrefixTextError TryReadPrefix(string? text, char separator, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrEmpty(text))
        {
            return PrefixTextError.Empty;
        }
        int at = text.IndexOf(separator, StringComparison.Ordinal);
        if (at <= 0)
        {
            return PrefixTextError.NoSeparator;
        }
        if (!TryParseAddress(text[..at], out IPAddress? address))
        {
            return PrefixTextError.BadAddress;
        }
        int bits = AddressBits(address.AddressFamily);
        if (!int.TryParse(text.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length > bits)
        {
            network = new IPNetwork(address, bits);
            return PrefixTextError.BadLength;
        }
        network = new IPNetwork(address, length);
        return network.BaseAddress.Equals(address) ? PrefixTextError.None : PrefixTextError.HostBits;
    }

    /// <summary>
    /// Parses an address as Go's net.ParseIP does: IPv4 only as four plain decimal octets (.NET also
    /// takes "10.244.0" and "0x0a.1.2.3", inet_aton style), IPv6 without a zone.
    /// </summary>
    public static bool TryParseAddress([NotNullWhen(true)] string? text, [NotNullWhen(true)] out IPAddress? address)
    {
        if (!IPAddress.TryParse(text, out address))
        {
            return false;
        }
        bool ok = address.AddressFamily == AddressFamily.InterNetwork
            ? address.ToString() == text
            : address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId == 0 && !text.Contains('%', StringComparison.Ordinal);
        if (!ok)
        {
            address = null;
        }
        return ok;
    }

    private static void CheckSubnetLength(IPNetwork network, int subnetLength)
    {
        int bits = AddressBits(network.BaseAddress.AddressFamily);
        if (subnetLength < network.PrefixLength || subnetLength > bits)
        {
            throw new ArgumentOutOfRangeException(nameof(subnetLength), $"/{subnetLength} subnets do not fit {network}");
        }
    }
}

/// <summary>What is wrong with a prefix's text (see <see cref="SubnetMath.TryReadPrefix"/>).</summary>
public enum PrefixTextError
{
    /// <summary>Nothing: the text is a prefix.</summary>
    None,

    /// <summary>No text at all.</summary>
    Empty,

    /// <summary>No separator between address and length (or nothing before it).</summary>
    NoSeparator,

    /// <summary>The part before the separator is not an IP address in Go's strict form.</summary>
    BadAddress,

    /// <summary>The length is not plain decimal from 0 to the family's address bits.</summary>
    BadLength,

    /// <summary>The address has bits set beyond the length: almost always a typo for another network.</summary>
    HostBits,
}
