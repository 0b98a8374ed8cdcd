using System.Net;
using System.Net.Sockets;
using Twill.Core;

namespace Twill.Cni.Protocol;

/// <summary>CIDR helpers shared by the plugins: parsing as Go's net.ParseCIDR, masking, stepping.</summary>
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

    public static InterfaceAddress Masked(InterfaceAddress a) => a with { Address = a.Network.BaseAddress };

    public static bool IsV4(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork;

    /// <summary>The address plus <paramref name="delta"/> (wrapping), in the same family.</summary>
    public static IPAddress Add(IPAddress a, long delta)
    {
        byte[] b = a.GetAddressBytes();
        UInt128 v = ToInt(b);
        v = delta >= 0 ? v + (UInt128)delta : v - (UInt128)(-delta);
        return FromInt(v, b.Length);
    }

    public static UInt128 ToInt(IPAddress a) => ToInt(a.GetAddressBytes());

    private static UInt128 ToInt(byte[] b)
    {
        UInt128 v = 0;
        foreach (byte x in b)
        {
            v = (v << 8) | x;
        }
        return v;
    }

    public static IPAddress FromInt(UInt128 v, int length)
    {
        byte[] b = new byte[length];
        for (int i = length - 1; i >= 0; i--)
        {
            b[i] = (byte)(v & 0xff);
            v >>= 8;
        }
        return new IPAddress(b);
    }

    /// <summary>The last address of the network (the broadcast for IPv4).</summary>
    public static IPAddress Last(IPNetwork n)
    {
        byte[] b = n.BaseAddress.GetAddressBytes();
        int bits = b.Length * 8;
        for (int i = n.PrefixLength; i < bits; i++)
        {
            b[i / 8] |= (byte)(0x80 >> (i % 8));
        }
        return new IPAddress(b);
    }

    /// <summary>
    /// The `brd` the reference's netlink library gives an IPv4 address: the last address of its
    /// subnet, none for /31 and /32 (RFC 3021) or IPv6.
    /// </summary>
    public static IPAddress? BroadcastOf(IPAddress address, int prefixLength) =>
        IsV4(address) && prefixLength < 31 ? Last(new InterfaceAddress(address, prefixLength).Network) : null;

    public static int Compare(IPAddress a, IPAddress b) => ToInt(a).CompareTo(ToInt(b));
}
