using System.Net;

namespace Twill.Backends;

/// <summary>
/// Checks every backend applies to a peer before planning anything for it. The lease manager already
/// drops hostile leases; these checks are the plan's own defence, so a bad lease can never displace
/// this node's routes whoever hands it over.
/// </summary>
internal static class PeerChecks
{
    /// <summary>Peers that may be planned, in key order (so plans are deterministic), with problems for the rest.</summary>
    public static List<PeerLease> Admissible(PeerLease own, IEnumerable<PeerLease> peers, List<PlanProblem> problems)
    {
        List<PeerLease> admitted = [];
        foreach (PeerLease peer in peers.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (peer.Key == own.Key)
            {
                continue;
            }
            if (Overlaps(peer.Subnet, own.Subnet))
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"subnet {peer.Subnet} overlaps this node's subnet {own.Subnet}; ignored"));
                continue;
            }
            if (peer.PublicIP.Equals(own.PublicIP))
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"public IP {peer.PublicIP} is this node's own; ignored"));
                continue;
            }
            if (peer.Subnet.BaseAddress.AddressFamily != own.Subnet.BaseAddress.AddressFamily)
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"subnet {peer.Subnet} is not of this node's address family; ignored"));
                continue;
            }
            PeerLease? clash = admitted.Find(a => Overlaps(a.Subnet, peer.Subnet));
            if (clash is not null)
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"subnet {peer.Subnet} overlaps peer {clash.Key}'s {clash.Subnet}; ignored"));
                continue;
            }
            admitted.Add(peer);
        }
        return admitted;
    }

    public static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily
        && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));
}
