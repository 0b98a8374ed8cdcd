using System.Net;
using System.Net.Sockets;

namespace Twill.Core;

/// <summary>
/// Subnets held so far, each with a value (a lease key, a peer), indexed so "does this subnet overlap
/// one of them, and which was added first?" costs one lookup per distinct prefix length in use
/// (usually one) instead of a scan: checking 5,000 peers against each other by scanning is 12.5
/// million comparisons, the bulk of a plan's time. Two subnets overlap exactly when the shorter
/// prefix's network contains the longer one's base. Not thread-safe.
/// </summary>
public sealed class SubnetOverlapIndex<T> where T : class
{
    // (family, prefix length) → network number of each held subnet → (order added, value).
    private readonly Dictionary<(AddressFamily Family, int Length), Dictionary<UInt128, (long Order, T Value)>> _tables = [];
    private readonly int _capacity;
    private long _count;

    public SubnetOverlapIndex()
    {
    }

    /// <param name="capacity">How many subnets of one family and length are expected: a plan's index of 5,000 peers is then made once, not grown through a dozen copies.</param>
    public SubnetOverlapIndex(int capacity) => _capacity = capacity;

    /// <summary>Forgets every subnet.</summary>
    public void Clear() => _tables.Clear();

    /// <summary>Holds <paramref name="subnet"/> for <paramref name="value"/>, replacing whatever held the same subnet.</summary>
    public void Add(IPNetwork subnet, T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        (AddressFamily family, int length) slot = (subnet.BaseAddress.AddressFamily, subnet.PrefixLength);
        if (!_tables.TryGetValue(slot, out Dictionary<UInt128, (long, T)>? table))
        {
            table = new(_capacity);
            _tables[slot] = table;
        }
        table[SubnetMath.ToNumber(subnet.BaseAddress)] = (_count++, value);
    }

    /// <summary>Lets go of <paramref name="subnet"/> if <paramref name="value"/> still holds it.</summary>
    public void Remove(IPNetwork subnet, T value)
    {
        (AddressFamily family, int length) slot = (subnet.BaseAddress.AddressFamily, subnet.PrefixLength);
        UInt128 start = SubnetMath.ToNumber(subnet.BaseAddress);
        if (_tables.TryGetValue(slot, out Dictionary<UInt128, (long Order, T Value)>? table)
            && table.TryGetValue(start, out (long Order, T Value) held)
            && EqualityComparer<T>.Default.Equals(held.Value, value))
        {
            table.Remove(start);
            if (table.Count == 0)
            {
                _tables.Remove(slot);
            }
        }
    }

    /// <summary>
    /// The earliest added value whose subnet overlaps <paramref name="subnet"/>, passing over
    /// <paramref name="except"/> (a lease's own key when it is re-checked); null when none.
    /// </summary>
    public T? FindOverlap(IPNetwork subnet, T? except = null)
    {
        AddressFamily family = subnet.BaseAddress.AddressFamily;
        int length = subnet.PrefixLength;
        UInt128 network = SubnetMath.ToNumber(subnet.BaseAddress);
        (long Order, T Value)? best = null;
        foreach (((AddressFamily f, int held), Dictionary<UInt128, (long Order, T Value)> table) in _tables)
        {
            if (f != family)
            {
                continue;
            }
            if (held <= length)
            {
                // A held subnet as large or larger overlaps only if it contains our network.
                if (table.TryGetValue(SubnetMath.Mask(network, held, family), out (long Order, T Value) hit))
                {
                    Consider(ref best, hit, except);
                }
                continue;
            }
            // Smaller held subnets: any whose network lies inside ours. Probe each slot inside ours
            // when there are fewer slots than held subnets, else scan the held ones.
            int extra = held - length;
            if (extra < 64 && (UInt128.One << extra) <= (UInt128)table.Count)
            {
                UInt128 step = SubnetMath.Size(held, family);
                UInt128 slots = UInt128.One << extra;
                for (UInt128 i = 0; i < slots; i++)
                {
                    if (table.TryGetValue(network + (i * step), out (long Order, T Value) hit))
                    {
                        Consider(ref best, hit, except);
                    }
                }
            }
            else
            {
                foreach ((UInt128 heldNetwork, (long Order, T Value) hit) in table)
                {
                    if (SubnetMath.Mask(heldNetwork, length, family) == network)
                    {
                        Consider(ref best, hit, except);
                    }
                }
            }
        }
        return best?.Value;
    }

    private static void Consider(ref (long Order, T Value)? best, (long Order, T Value) hit, T? except)
    {
        if ((except is null || !EqualityComparer<T>.Default.Equals(hit.Value, except)) && (best is not { } b || hit.Order < b.Order))
        {
            best = hit;
        }
    }
}
