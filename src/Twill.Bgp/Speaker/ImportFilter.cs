using System.Net;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Speaker;

/// <summary>
/// Which learnt routes a node may install. A ToR reflects every node's prefix back to it with the
/// ToR as next hop, and may carry anything else: only the cluster's pod networks pass, never a
/// prefix overlapping our own subnet, never a path that already went through our AS (loop), never
/// a next hop that is ourselves, and at most <see cref="MaxPrefixes"/> per peer.
/// </summary>
public sealed record ImportFilter
{
    public const int DefaultMaxPrefixes = 1000;

    /// <summary>The pod networks (net-conf Network / IPv6Network): imported prefixes must lie inside one.</summary>
    public required IReadOnlyList<IPNetwork> ClusterNetworks { get; init; }

    /// <summary>The node's own subnets besides those it announces (e.g. a lease not announced yet).</summary>
    public IReadOnlyList<IPNetwork> OwnSubnets { get; init; } = [];

    /// <summary>Routes accepted per peer; more are dropped with a warning, the session stays (it carries our own announcement).</summary>
    public int MaxPrefixes { get; init; } = DefaultMaxPrefixes;

    /// <summary>Why <paramref name="prefix"/> is refused, or null when it passes.</summary>
    public string? Reject(IPNetwork prefix, AsPathAttribute? asPath, IPAddress nextHop, uint localAsn, IEnumerable<IPNetwork> announced, IEnumerable<IPAddress> localAddresses)
    {
        if (!ClusterNetworks.Any(n => Contains(n, prefix)))
        {
            return $"{prefix} is outside the cluster network ({string.Join(", ", ClusterNetworks)})";
        }
        if (OwnSubnets.Concat(announced).FirstOrDefault(own => Overlaps(own, prefix)) is IPNetwork mine && mine.PrefixLength > 0)
        {
            return $"{prefix} overlaps our own subnet {mine}";
        }
        if (asPath is not null && asPath.AllAsns.Contains(localAsn))
        {
            return $"{prefix} has our AS{localAsn} in its path ({asPath})";
        }
        if (localAddresses.Contains(nextHop))
        {
            return $"{prefix} has ourselves ({nextHop}) as next hop";
        }
        return null;
    }

    internal static bool Contains(IPNetwork outer, IPNetwork inner) =>
        outer.BaseAddress.AddressFamily == inner.BaseAddress.AddressFamily
        && inner.PrefixLength >= outer.PrefixLength
        && outer.Contains(inner.BaseAddress);

    internal static bool Overlaps(IPNetwork a, IPNetwork b) => Contains(a, b) || Contains(b, a);
}
