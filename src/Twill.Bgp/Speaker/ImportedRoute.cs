using System.Net;

namespace Twill.Bgp.Speaker;

/// <summary>
/// A learnt route that passed the <see cref="ImportFilter"/>: one prefix, every next hop that
/// announces it (more than one means ECMP: one kernel route with a nexthop per entry).
/// </summary>
public sealed record ImportedRoute(IPNetwork Prefix, IReadOnlyList<IPAddress> NextHops)
{
    public bool IsMultipath => NextHops.Count > 1;

    public override string ToString() => $"{Prefix} via {string.Join(", ", NextHops)}";
}
