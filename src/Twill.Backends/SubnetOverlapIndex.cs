using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Twill.Backends;

/// <summary>
/// Subnets admitted so far, indexed so "does this subnet overlap one of them, and which came first?"
/// costs one lookup per distinct prefix length instead of a scan of every admitted subnet: checking
/// 5,000 peers against each other by scanning is 12.5 million comparisons, the bulk of a plan's time.
/// Two subnets overlap exactly when the shorter prefix's network contains the longer one's base.
/// </summary>
internal sealed class SubnetOverlapIndex<T> where T : class
{
    // (family, prefix length) → network number of each admitted subnet → (admission order, value).
    private readonly Dictionary<(AddressFamily Family, int Length), Dictionary<UInt128, (int Order, T Value)>> _tables = [];
    private int _count;

    /// <summary>Admits <paramref name="subnet"/> (the caller has checked it overlaps nothing).</summary>
    public void Add(IPNetwork subnet, T value)
    {
        (AddressFamily family, UInt128 number) = Number(subnet.BaseAddress);
        if (!_tables.TryGetValue((family, subnet.PrefixLength), out Dictionary<UInt128, (int, T)>? table))
        {
            table = [];
            _tables[(family, subnet.PrefixLength)] = table;
        }
        table.TryAdd(Mask(number, subnet.PrefixLength, family), (_count++, value));
    }

    /// <summary>The earliest admitted value whose subnet overlaps <paramref name="subnet"/>; null when none does.</summary>
    public T? FindOverlap(IPNetwork subnet)
    {
        (AddressFamily family, UInt128 number) = Number(subnet.BaseAddress);
        int length = subnet.PrefixLength;
        UInt128 network = Mask(number, length, family);
        (int Order, T Value)? best = null;
        foreach (((AddressFamily f, int held), Dictionary<UInt128, (int Order, T Value)> table) in _tables)
        {
            if (f != family)
            {
                continue;
            }
            if (held <= length)
            {
                // A held subnet as large or larger overlaps only if it contains our network.
                if (table.TryGetValue(Mask(network, held, family), out (int Order, T Value) hit))
                {
                    best = Earlier(best, hit);
                }
                continue;
            }
            // Smaller held subnets: any whose network lies inside ours.
            int extra = held - length;
            if (extra < 20 && (UInt128.One << extra) <= (UInt128)table.Count)
            {
                UInt128 step = UInt128.One << (Bits(family) - held);
                UInt128 slots = UInt128.One << extra;
                for (UInt128 i = 0; i < slots; i++)
                {
                    if (table.TryGetValue(network + (i * step), out (int Order, T Value) hit))
                    {
                        best = Earlier(best, hit);
                    }
                }
            }
            else
            {
                foreach ((UInt128 heldNetwork, (int Order, T Value) hit) in table)
                {
                    if (Mask(heldNetwork, length, family) == network)
                    {
                        best = Earlier(best, hit);
                    }
                }
            }
        }
        return best?.Value;
    }

    private static (int Order, T Value) Earlier((int Order, T Value)? best, (int Order, T Value) hit) =>
        best is { } b && b.Order < hit.Order ? b : hit;

    private static int Bits(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? 128 : 32;

    private static UInt128 Mask(UInt128 number, int length, AddressFamily family)
    {
        int bits = Bits(family);
        if (length <= 0)
        {
            return 0;
        }
        if (length >= bits)
        {
            return number;
        }
        UInt128 hostMask = (UInt128.One << (bits - length)) - 1;
        return number & ~hostMask;
    }

    private static (AddressFamily, UInt128) Number(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
        {
            throw new ArgumentException($"address {address} cannot be read", nameof(address));
        }
        return written == 4
            ? (AddressFamily.InterNetwork, BinaryPrimitives.ReadUInt32BigEndian(bytes))
            : (AddressFamily.InterNetworkV6, BinaryPrimitives.ReadUInt128BigEndian(bytes));
    }
}
