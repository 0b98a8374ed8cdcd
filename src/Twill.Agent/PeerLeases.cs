using System.Net;
using Twill.Backends;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// Turns the lease manager's leases into plan inputs, and remembers which peers were seen publishing an
/// empty VtepMAC (the sign of a Windows node, <see cref="PeerOsRule"/>).
/// </summary>
public sealed class PeerLeases
{
    private readonly HashSet<string> _seenWithoutMac = new(StringComparer.Ordinal);

    /// <summary>The plan input for one lease; null when it has no IPv4 subnet (IPv6-only leases are not planned yet).</summary>
    public PeerLease? Convert(Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (lease.Subnets.IPv4 is not IPNetwork subnet)
        {
            return null;
        }
        VxlanLeaseData? data = lease.Attrs.VxlanData;
        bool noMac = data is null || !data.HasVtepMac || data.VtepMac!.GetAddressBytes().Length == 0;
        if (noMac && lease.Attrs.BackendType == "vxlan")
        {
            _seenWithoutMac.Add(lease.Key);
        }
        return new PeerLease
        {
            Key = lease.Key,
            Subnet = subnet,
            PublicIP = lease.Attrs.PublicIP,
            BackendType = lease.Attrs.BackendType,
            Vni = data?.Vni,
            VtepMac = noMac ? null : data!.VtepMac,
            Os = PeerOsRule.Classify(PeerOs.Unknown, _seenWithoutMac.Contains(lease.Key), noMac ? null : data!.VtepMac),
        };
    }
}
