using System.Net;

namespace Twill.Bgp.Speaker;

/// <summary>Prefixes by address then length, addresses by family then bytes: the stable order of imported routes, their next hops and the prefixes packed into an UPDATE.</summary>
internal sealed class PrefixComparer : IComparer<IPNetwork>
{
    public static readonly PrefixComparer Instance = new();

    public int Compare(IPNetwork x, IPNetwork y)
    {
        int c = AddressComparer.Instance.Compare(x.BaseAddress, y.BaseAddress);
        return c != 0 ? c : x.PrefixLength.CompareTo(y.PrefixLength);
    }
}

internal sealed class AddressComparer : IComparer<IPAddress>
{
    public static readonly AddressComparer Instance = new();

    public int Compare(IPAddress? x, IPAddress? y)
    {
        if (x is null || y is null)
        {
            return x is null ? (y is null ? 0 : -1) : 1;
        }
        int c = x.AddressFamily.CompareTo(y.AddressFamily);
        if (c != 0)
        {
            return c;
        }
        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        x.TryWriteBytes(a, out int na);
        y.TryWriteBytes(b, out int nb);
        return a[..na].SequenceCompareTo(b[..nb]);
    }
}
