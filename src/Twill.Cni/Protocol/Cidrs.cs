using System.Net;
using System.Net.Sockets;
using Twill.Core;

namespace Twill.Cni.Protocol;

/// <summary>CIDR helpers shared by the plugins: parsing as Go's net.ParseCIDR, stepping (arithmetic is <see cref="SubnetMath"/>'s).</summary>
public static class Cidrs
{
    /// <summary>Parses A/N; with <paramref name="mask"/> the host bits are cleared (Go's ParseCIDR network).</summary>
    public static bool TryParse(string? text, bool mask, out InterfaceAddress value)
    {
        if (!InterfaceAddress.TryParse(text, out value))
        {
            return false;
        }
        if (mask)
        {
            value = value with { Address = value.Network.BaseAddress };
        }
        return true;
    }

    public static bool IsV4(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork;

    /// <summary>The address plus <paramref name="delta"/> (wrapping), in the same family.</summary>
    public static IPAddress Add(IPAddress a, long delta)
    {
        UInt128 v = SubnetMath.ToNumber(a);
        v = delta >= 0 ? v + (UInt128)delta : v - (UInt128)(-delta);
        return SubnetMath.ToAddress(IsV4(a) ? v & uint.MaxValue : v, a.AddressFamily);
    }

    /// <summary>The last address of the network (the broadcast for IPv4).</summary>
    public static IPAddress Last(IPNetwork n) => SubnetMath.LastAddress(n);

    /// <summary>
    /// The `brd` the reference's netlink library gives an IPv4 address: the last address of its
    /// subnet, none for /31 and /32 (RFC 3021) or IPv6.
    /// </summary>
    public static IPAddress? BroadcastOf(IPAddress address, int prefixLength) =>
        IsV4(address) && prefixLength < 31 ? Last(new InterfaceAddress(address, prefixLength).Network) : null;

    public static int Compare(IPAddress a, IPAddress b) => SubnetMath.ToNumber(a).CompareTo(SubnetMath.ToNumber(b));
}
