namespace Twill.Backends;

/// <summary>
/// The host-gw backend as a pure function: per peer <c>ip route replace &lt;peer subnet&gt; via
/// &lt;peer public IP&gt; dev &lt;underlay&gt; proto twill</c>. It only works when every node shares one L2
/// segment; a peer outside the underlay's on-link subnet is reported by name instead of silently
/// getting a route the kernel would refuse or misroute. One plan per family: the IPv6 plan routes
/// each peer's IPv6 subnet via its <c>PublicIPv6</c> over the underlay's IPv6 address.
/// </summary>
public static class HostGwBackend
{
    /// <summary>Plans the node's kernel state (routes only: host-gw has no device of its own).</summary>
    public static KernelPlan Plan(BackendSettings settings, PeerLease own, IEnumerable<PeerLease> peers, Underlay underlay)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(underlay);
        PeerChecks.RequireOneFamily(own, underlay);
        List<PlanProblem> problems = [];
        List<PeerLease> admitted = PeerChecks.Admissible(own, peers, problems);
        List<PlannedRoute> routes = new(admitted.Count);
        foreach (PeerLease peer in admitted)
        {
            if (!string.Equals(peer.BackendType, "host-gw", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"backend type '{peer.BackendType}' differs from ours ('host-gw'); ignored"));
                continue;
            }
            if (!underlay.OnLink.Contains(peer.PublicIP))
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key,
                    $"public IP {peer.PublicIP} is not on {underlay.Name}'s segment {underlay.OnLink}; host-gw needs every node on one L2 segment (use vxlan, or DirectRouting); no route"));
                continue;
            }
            routes.Add(new PlannedRoute(peer.Subnet, peer.PublicIP, underlay.Name, OnLink: false));
        }
        return new KernelPlan { Routes = routes, Problems = problems, PeerCount = routes.Count };
    }
}
