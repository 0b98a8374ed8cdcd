using System.Net;

namespace Twill.Bgp.Speaker;

/// <summary>
/// A learnt route that passed the <see cref="ImportFilter"/>: one prefix, every next hop that
/// announces it (more than one means ECMP: one kernel route with a nexthop per entry).
/// </summary>
public sealed record ImportedRoute(IPNetwork Prefix, IReadOnlyList<IPAddress> NextHops)
{
    public bool IsMultipath => NextHops.Count > 1;

    /// <summary>Equal when the prefix and the next hops (in order) are: a route set compares by value.</summary>
    public bool Equals(ImportedRoute? other) =>
        other is not null && Prefix.Equals(other.Prefix) && NextHops.SequenceEqual(other.NextHops);

    public override int GetHashCode() => HashCode.Combine(Prefix, NextHops.Count > 0 ? NextHops[0] : null, NextHops.Count);

    public override string ToString() => $"{Prefix} via {string.Join(", ", NextHops)}";
}
