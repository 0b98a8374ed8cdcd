using System.Net;

namespace Twill.Core;

/// <summary>
/// The node subnets one address family hands out: every <see cref="SubnetLength"/> subnet of
/// <see cref="Network"/> from <see cref="Min"/> to <see cref="Max"/> inclusive (Flannel's SubnetMin /
/// SubnetMax). Built by <see cref="NetworkConfig"/> once validated, so Min and Max are aligned and inside.
/// </summary>
public sealed record SubnetPool(IPNetwork Network, int SubnetLength, IPAddress Min, IPAddress Max)
{
    /// <summary>How many subnets the pool holds.</summary>
    public UInt128 Count
    {
        get
        {
            UInt128 min = SubnetMath.ToNumber(Min);
            UInt128 max = SubnetMath.ToNumber(Max);
            return max < min ? 0 : ((max - min) / SubnetMath.Size(SubnetLength, Min.AddressFamily)) + 1;
        }
    }

    /// <summary>The <paramref name="index"/>-th subnet of the pool, from 0 (the subnet at <see cref="Min"/>).</summary>
    public IPNetwork this[UInt128 index]
    {
        get
        {
            if (index >= Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), $"the pool {Min}..{Max} of /{SubnetLength} holds {Count} subnets; there is no subnet number {index}");
            }
            UInt128 start = SubnetMath.ToNumber(Min) + (index * SubnetMath.Size(SubnetLength, Min.AddressFamily));
            return new IPNetwork(SubnetMath.ToAddress(start, Min.AddressFamily), SubnetLength);
        }
    }

    /// <summary>
    /// Flannel's "compatible with the config" test for a subnet this node already held: the right
    /// length, aligned, and between Min and Max.
    /// </summary>
    public bool IsCompatible(IPNetwork subnet)
    {
        if (subnet.PrefixLength != SubnetLength || subnet.BaseAddress.AddressFamily != Min.AddressFamily)
        {
            return false;
        }
        UInt128 start = SubnetMath.ToNumber(subnet.BaseAddress);
        return start >= SubnetMath.ToNumber(Min) && start <= SubnetMath.ToNumber(Max);
    }

    /// <summary>Every subnet of the pool, in order (lazily; an IPv6 pool may be huge).</summary>
    public IEnumerable<IPNetwork> Subnets()
    {
        UInt128 count = Count;
        for (UInt128 i = 0; i < count; i++)
        {
            yield return this[i];
        }
    }

    public override string ToString() => $"{Min}/{SubnetLength}..{Max}/{SubnetLength} in {Network}";
}
