using System.Net;
using Twill.Core;

namespace Twill.Leases;

/// <summary>
/// Which lease key holds which subnets: <see cref="SubnetOverlapIndex{T}"/> over both subnets of a
/// lease, so overlap checks cost one lookup per prefix length in use, not one per lease.
/// </summary>
internal sealed class SubnetIndex
{
    private readonly SubnetOverlapIndex<string> _index = new();

    public void Clear() => _index.Clear();

    public void Add(LeaseSubnets subnets, string key)
    {
        if (subnets.IPv4 is IPNetwork v4)
        {
            _index.Add(v4, key);
        }
        if (subnets.IPv6 is IPNetwork v6)
        {
            _index.Add(v6, key);
        }
    }

    public void Remove(LeaseSubnets subnets, string key)
    {
        if (subnets.IPv4 is IPNetwork v4)
        {
            _index.Remove(v4, key);
        }
        if (subnets.IPv6 is IPNetwork v6)
        {
            _index.Remove(v6, key);
        }
    }

    /// <summary>The key of a held subnet overlapping <paramref name="subnet"/>, other than <paramref name="exceptKey"/>; null when none.</summary>
    public string? FindOverlap(IPNetwork subnet, string? exceptKey = null) => _index.FindOverlap(subnet, exceptKey);

    /// <summary>The key of a held subnet overlapping either of <paramref name="subnets"/>, other than <paramref name="exceptKey"/>.</summary>
    public string? FindOverlap(LeaseSubnets subnets, string? exceptKey = null) =>
        (subnets.IPv4 is IPNetwork v4 ? _index.FindOverlap(v4, exceptKey) : null)
        ?? (subnets.IPv6 is IPNetwork v6 ? _index.FindOverlap(v6, exceptKey) : null);
}
