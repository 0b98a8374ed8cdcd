using System.Net;
using System.Net.Sockets;
using Twill.Core;

namespace Twill.Leases;

/// <summary>
/// Which key holds which subnets, answering "does this subnet overlap one already held?" in time
/// proportional to the number of distinct prefix lengths in use (usually one), not the number of
/// leases: with 5,000 peers a pairwise check per event would cost millions of comparisons.
/// </summary>
internal sealed class SubnetIndex
{
    // Per family, per prefix length: start address → key.
    private readonly Dictionary<int, Dictionary<UInt128, string>> _v4 = [];
    private readonly Dictionary<int, Dictionary<UInt128, string>> _v6 = [];

    public void Clear()
    {
        _v4.Clear();
        _v6.Clear();
    }

    public void Add(IPNetwork subnet, string key) => Table(subnet, create: true)![SubnetMath.ToNumber(subnet.BaseAddress)] = key;

    public void Remove(IPNetwork subnet, string key)
    {
        Dictionary<UInt128, string>? table = Table(subnet, create: false);
        UInt128 start = SubnetMath.ToNumber(subnet.BaseAddress);
        if (table is not null && table.TryGetValue(start, out string? held) && held == key)
        {
            table.Remove(start);
            if (table.Count == 0)
            {
                Family(subnet).Remove(subnet.PrefixLength);
            }
        }
    }

    public void Add(LeaseSubnets subnets, string key)
    {
        if (subnets.IPv4 is IPNetwork v4)
        {
            Add(v4, key);
        }
        if (subnets.IPv6 is IPNetwork v6)
        {
            Add(v6, key);
        }
    }

    public void Remove(LeaseSubnets subnets, string key)
    {
        if (subnets.IPv4 is IPNetwork v4)
        {
            Remove(v4, key);
        }
        if (subnets.IPv6 is IPNetwork v6)
        {
            Remove(v6, key);
        }
    }

    /// <summary>The key of a held subnet overlapping <paramref name="subnet"/>, other than <paramref name="exceptKey"/>; null when none.</summary>
    public string? FindOverlap(IPNetwork subnet, string? exceptKey = null)
    {
        AddressFamily family = subnet.BaseAddress.AddressFamily;
        UInt128 start = SubnetMath.ToNumber(subnet.BaseAddress);
        int length = subnet.PrefixLength;
        foreach ((int heldLength, Dictionary<UInt128, string> table) in Family(subnet))
        {
            if (heldLength <= length)
            {
                // A held subnet at least as large overlaps only if it contains our start.
                UInt128 masked = start & ~(SubnetMath.Size(heldLength, family) - 1);
                if (heldLength == 0)
                {
                    masked = 0;
                }
                if (table.TryGetValue(masked, out string? key) && key != exceptKey)
                {
                    return key;
                }
            }
            else
            {
                // Smaller held subnets: probe each slot inside ours when that is cheaper than scanning.
                int extra = heldLength - length;
                UInt128 slots = extra >= 127 ? UInt128.MaxValue : UInt128.One << extra;
                if (slots <= (UInt128)table.Count)
                {
                    UInt128 size = SubnetMath.Size(heldLength, family);
                    for (UInt128 i = 0; i < slots; i++)
                    {
                        if (table.TryGetValue(start + (i * size), out string? key) && key != exceptKey)
                        {
                            return key;
                        }
                    }
                }
                else
                {
                    foreach ((UInt128 heldStart, string key) in table)
                    {
                        if (key != exceptKey && subnet.Contains(SubnetMath.ToAddress(heldStart, family)))
                        {
                            return key;
                        }
                    }
                }
            }
        }
        return null;
    }

    /// <summary>The key of a held subnet overlapping either of <paramref name="subnets"/>, other than <paramref name="exceptKey"/>.</summary>
    public string? FindOverlap(LeaseSubnets subnets, string? exceptKey = null) =>
        (subnets.IPv4 is IPNetwork v4 ? FindOverlap(v4, exceptKey) : null)
        ?? (subnets.IPv6 is IPNetwork v6 ? FindOverlap(v6, exceptKey) : null);

    private Dictionary<int, Dictionary<UInt128, string>> Family(IPNetwork subnet) =>
        subnet.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? _v4 : _v6;

    private Dictionary<UInt128, string>? Table(IPNetwork subnet, bool create)
    {
        Dictionary<int, Dictionary<UInt128, string>> family = Family(subnet);
        if (!family.TryGetValue(subnet.PrefixLength, out Dictionary<UInt128, string>? table) && create)
        {
            table = [];
            family[subnet.PrefixLength] = table;
        }
        return table;
    }
}
