using System.Net;
using System.Net.Sockets;
using Twill.Backends;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// Turns the lease manager's leases into plan inputs, one per address family, and remembers which
/// peers were seen publishing an empty VtepMAC (the sign of a Windows node, <see cref="PeerOsRule"/>).
/// A dual-stack lease (Flannel's <c>10.244.3.0-24&amp;fd00:10:244:3::-64</c>) gives an IPv4 input from
/// Subnet, PublicIP and BackendData, and an IPv6 input from IPv6Subnet, PublicIPv6 and BackendV6Data,
/// exactly the fields Flannel's vxlan and host-gw backends read for each family.
/// </summary>
public sealed class PeerLeases
{
    private readonly HashSet<(string Key, AddressFamily Family)> _seenWithoutMac = [];
    private readonly Lock _gate = new();

    /// <summary>The IPv4 plan input for one lease; null when it has no IPv4 subnet.</summary>
    public PeerLease? Convert(Lease lease) => Convert(lease, AddressFamily.InterNetwork);

    /// <summary>
    /// The plan input of <paramref name="family"/> for one lease; null when the lease has no subnet of
    /// that family (a single-stack peer is simply not a peer of the other family's data path). A lease
    /// with a subnet but no public address of the family gets the unspecified address, which the plan
    /// reports by name (see <c>PeerChecks</c>) rather than dropping it silently.
    /// </summary>
    public PeerLease? Convert(Lease lease, AddressFamily family)
    {
        ArgumentNullException.ThrowIfNull(lease);
        bool v6 = family == AddressFamily.InterNetworkV6;
        if (!v6 && family != AddressFamily.InterNetwork)
        {
            throw new ArgumentOutOfRangeException(nameof(family), family, "address family must be InterNetwork or InterNetworkV6");
        }
        if ((v6 ? lease.Subnets.IPv6 : lease.Subnets.IPv4) is not IPNetwork subnet)
        {
            return null;
        }
        IPAddress publicIp = v6
            ? lease.Attrs.PublicIPv6 ?? IPAddress.IPv6Any
            : lease.Attrs.PublicIP;
        VxlanLeaseData? data = v6 ? lease.Attrs.VxlanV6Data : lease.Attrs.VxlanData;
        bool noMac = data is null || !data.HasVtepMac || data.VtepMac!.GetAddressBytes().Length == 0;
        bool seenWithoutMac;
        lock (_gate)
        {
            if (noMac && lease.Attrs.BackendType == "vxlan")
            {
                _seenWithoutMac.Add((lease.Key, family));
            }
            seenWithoutMac = _seenWithoutMac.Contains((lease.Key, family));
        }
        return new PeerLease
        {
            Key = lease.Key,
            Subnet = subnet,
            PublicIP = publicIp,
            BackendType = lease.Attrs.BackendType,
            Vni = data?.Vni,
            VtepMac = noMac ? null : data!.VtepMac,
            Os = PeerOsRule.Classify(PeerOs.Unknown, seenWithoutMac, noMac ? null : data!.VtepMac),
        };
    }
}
