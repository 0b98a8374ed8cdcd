using System.Net;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Plugins.HostLocal;

/// <summary>
/// Picks an address from one range set as the reference does: round robin, starting after the
/// set's last reserved address, across the set's ranges in order, skipping each range's gateway;
/// a requested address is taken or refused as it is.
/// </summary>
public sealed class Allocator(RangeSet set, DiskStore store, int rangeSetIndex)
{
    public CniIpConfig Get(string id, string ifName, IPAddress? requested)
    {
        if (requested is not null)
        {
            IpRange r = set.RangeFor(requested)
                ?? throw new CniException(CniErrorCode.Internal, $"{requested} not in range set {set}");
            if (requested.Equals(r.Gateway))
            {
                throw new CniException(CniErrorCode.Internal, $"requested ip {requested} is subnet's gateway");
            }
            if (!store.Reserve(id, ifName, requested, rangeSetIndex))
            {
                throw new CniException(CniErrorCode.Internal, $"requested IP address {requested} is not available in range set {set}");
            }
            return new CniIpConfig(new InterfaceAddress(requested, r.Subnet.PrefixLength), r.Gateway);
        }
        foreach (IPAddress held in store.GetById(id, ifName))
        {
            if (set.Contains(held))
            {
                throw new CniException(CniErrorCode.Internal, $"{held} has been allocated to {id}, duplicate allocation is not allowed");
            }
        }
        foreach ((IPAddress candidate, IpRange range) in Candidates(store.LastReservedIp(rangeSetIndex)))
        {
            if (store.Reserve(id, ifName, candidate, rangeSetIndex))
            {
                return new CniIpConfig(new InterfaceAddress(candidate, range.Subnet.PrefixLength), range.Gateway);
            }
        }
        throw new CniException(CniErrorCode.Internal, $"no IP addresses available in range set: {set}");
    }

    /// <summary>
    /// The order the reference's iterator visits addresses in: from the address after
    /// <paramref name="lastReserved"/> (or the first range's start) once around the whole set.
    /// </summary>
    public IEnumerable<(IPAddress Ip, IpRange Range)> Candidates(IPAddress? lastReserved)
    {
        List<IpRange> ranges = set.Ranges;
        int rangeIdx = 0;
        IPAddress? cur = null;
        if (lastReserved is not null)
        {
            for (int i = 0; i < ranges.Count; i++)
            {
                if (ranges[i].Contains(lastReserved))
                {
                    rangeIdx = i;
                    cur = lastReserved;
                    break;
                }
            }
        }
        int startRange = rangeIdx;
        IPAddress? startIp = null;
        while (true)
        {
            IpRange r = ranges[rangeIdx];
            if (cur is null)
            {
                cur = r.RangeStart;
                startIp = cur;
            }
            else
            {
                if (cur.Equals(r.RangeEnd))
                {
                    rangeIdx = (rangeIdx + 1) % ranges.Count;
                    r = ranges[rangeIdx];
                    cur = r.RangeStart;
                }
                else
                {
                    cur = Cidrs.Add(cur, 1);
                }
                if (startIp is null)
                {
                    startIp = cur;
                    startRange = rangeIdx;
                }
                else if (rangeIdx == startRange && cur.Equals(startIp))
                {
                    yield break;
                }
            }
            if (!cur.Equals(r.Gateway))
            {
                yield return (cur, r);
            }
        }
    }
}
