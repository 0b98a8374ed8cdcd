using System.Net;
using System.Net.Sockets;
using Twill.Core;

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
        int expected = peers.TryGetNonEnumeratedCount(out int count) ? count : 0;
        List<PeerLease> admitted = new(expected);
        // Pairwise overlap checks are quadratic: 12.5 M comparisons at 5,000 peers on every plan.
        SubnetOverlapIndex<PeerLease> index = new(expected);
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
            if (peer.Family != own.Family)
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"subnet {peer.Subnet} is not of this node's address family; ignored"));
                continue;
            }
            if (peer.PublicIP.AddressFamily != own.Family || IsUnspecified(peer.PublicIP))
            {
                // A dual-stack lease without PublicIPv6 (or a v4 subnet without PublicIP): there is no
                // underlay address of this family to send the peer's traffic to.
                problems.Add(new(ProblemSeverity.Error, peer.Key,
                    $"has subnet {peer.Subnet} but no {PublicIPField(own.Family)} (got {peer.PublicIP}); no route for this family"));
                continue;
            }
            PeerLease? clash = index.FindOverlap(peer.Subnet);
            if (clash is not null)
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"subnet {peer.Subnet} overlaps peer {clash.Key}'s {clash.Subnet}; ignored"));
                continue;
            }
            admitted.Add(peer);
            index.Add(peer.Subnet, peer);
        }
        return admitted;
    }

    /// <summary>
    /// A plan of one family runs over an underlay of that family (VXLAN over IPv6 for the IPv6 pod
    /// subnet, as Flannel's flannel-v6 device); mixing them is a wiring bug, so it throws.
    /// </summary>
    public static void RequireOneFamily(PeerLease own, Underlay underlay)
    {
        if (own.Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"own lease {own.Key}: subnet {own.Subnet} is neither IPv4 nor IPv6", nameof(own));
        }
        if (underlay.Family != own.Family)
        {
            throw new ArgumentException(
                $"own lease {own.Key}: subnet {own.Subnet} is {FamilyName(own.Family)} but the underlay address {underlay.Address} on {underlay.Name} is {FamilyName(underlay.Family)}; plan each family over an underlay address of that family",
                nameof(underlay));
        }
    }

    /// <summary>"IPv4" or "IPv6".</summary>
    public static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

    /// <summary>The lease field that holds a family's public address.</summary>
    public static string PublicIPField(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "PublicIPv6" : "PublicIP";

    private static bool IsUnspecified(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    public static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily
        && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));
}
