namespace Twill.Backends;

/// <summary>
/// The bgp backend's node side as a pure function: in the L3 top-of-rack topology the ToR routes
/// every pod subnet (learnt from the nodes over BGP, or configured statically), so a node programs
/// no device and no peer route; the plan is empty and a reconcile removes any route of ours left by
/// an earlier backend. Peers are only counted, for the logs and metrics.
/// </summary>
public static class TorBackend
{
    public static KernelPlan Plan(IReadOnlyCollection<PeerLease> peers)
    {
        ArgumentNullException.ThrowIfNull(peers);
        return new KernelPlan { PeerCount = peers.Count };
    }
}
