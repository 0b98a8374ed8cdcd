using System.Net;

namespace Twill.Backends;

/// <summary>
/// The bgp backend's node side as a pure function. In the L3 top-of-rack topology the ToR routes
/// every pod subnet (learnt from the nodes over BGP, or configured statically), so a node programs
/// no device and no peer route. The only routes are those learnt from the ToR when the backend
/// imports them (ToR not the default gateway): each prefix of this family via its next hops on the
/// underlay, one ECMP route when several peers announce it. The learnt routes were filtered already
/// (cluster network only, never our subnet, never our AS); a next hop off the underlay's segment is
/// reported and skipped, since the kernel would refuse the route. Peers are only counted.
/// </summary>
public static class TorBackend
{
    public static KernelPlan Plan(IReadOnlyCollection<PeerLease> peers, IEnumerable<(IPNetwork Prefix, IReadOnlyList<IPAddress> NextHops)> learnt, Underlay underlay)
    {
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentNullException.ThrowIfNull(learnt);
        ArgumentNullException.ThrowIfNull(underlay);
        List<PlannedRoute> routes = [];
        List<PlanProblem> problems = [];
        foreach ((IPNetwork prefix, IReadOnlyList<IPAddress> nextHops) in learnt)
        {
            if (prefix.BaseAddress.AddressFamily != underlay.Address.AddressFamily)
            {
                continue;
            }
            IPAddress[] hops = [.. nextHops.Where(h => h.AddressFamily == underlay.Address.AddressFamily && underlay.OnLink.Contains(h))];
            if (hops.Length < nextHops.Count)
            {
                problems.Add(new(ProblemSeverity.Warning, prefix.ToString(),
                    $"learnt next hop(s) {string.Join(", ", nextHops.Except(hops))} not on {underlay.Name}'s segment {underlay.OnLink}; not used"));
            }
            if (hops.Length > 0)
            {
                routes.Add(new PlannedRoute(prefix, hops[0], underlay.Name, OnLink: false) { MoreGateways = hops[1..] });
            }
        }
        return new KernelPlan { Routes = routes, Problems = problems, PeerCount = peers.Count };
    }
}
