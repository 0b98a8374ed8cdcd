using System.Net;

namespace Twill.Bgp.Wire;

/// <summary>
/// Builds the UPDATEs that announce or withdraw a set of prefixes, as few as fit in
/// <see cref="BgpCodec.MaxMessageLength"/> octets each: IPv4 in the classic fields with NEXT_HOP,
/// IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
/// </summary>
public static class UpdatePacker
{
    /// <summary>Room left for prefixes after header, lengths and a generous attribute allowance.</summary>
    private const int Budget = BgpCodec.MaxMessageLength - BgpCodec.HeaderLength - 4;

    /// <summary>
    /// UPDATEs announcing <paramref name="prefixes"/> (all of <paramref name="family"/>) with ORIGIN IGP,
    /// AS_PATH <paramref name="asPath"/>, any <paramref name="extra"/> attributes (LOCAL_PREF to iBGP peers), next hop <paramref name="nextHop"/> (and
    /// <paramref name="linkLocalNextHop"/> for IPv6), and <paramref name="communities"/> when any.
    /// </summary>
    public static IReadOnlyList<UpdateMessage> Announce(BgpFamily family, IReadOnlyList<IPNetwork> prefixes, AsPathAttribute asPath,
        IPAddress nextHop, IPAddress? linkLocalNextHop, IReadOnlyList<uint> communities, BgpCodecOptions options,
        IReadOnlyList<PathAttribute>? extra = null)
    {
        List<PathAttribute> common = [OriginAttribute.Igp, asPath, .. extra ?? []];
        if (communities.Count > 0)
        {
            common.Add(new CommunitiesAttribute(communities));
        }
        if (family == BgpFamily.IPv4Unicast)
        {
            common.Add(new NextHopAttribute(nextHop));
        }
        int fixedSize = BgpCodec.Encode(new UpdateMessage { Attributes = common }, options).Length - BgpCodec.HeaderLength - 4;
        // MP_REACH_NLRI's own header: flags, type, 2-octet length, AFI, SAFI, next hop length, next hop(s), reserved.
        int mpSize = family == BgpFamily.IPv4Unicast ? 0 : 4 + 3 + 1 + (linkLocalNextHop is null ? 16 : 32) + 1;
        List<UpdateMessage> updates = [];
        foreach (List<IPNetwork> chunk in Chunks(prefixes, Budget - fixedSize - mpSize))
        {
            updates.Add(family == BgpFamily.IPv4Unicast
                ? new UpdateMessage { Attributes = common, Nlri = chunk }
                : new UpdateMessage { Attributes = [.. common, new MpReachNlriAttribute(family, nextHop, linkLocalNextHop, chunk)] });
        }
        return updates;
    }

    /// <summary>UPDATEs withdrawing <paramref name="prefixes"/> (all of <paramref name="family"/>).</summary>
    public static IReadOnlyList<UpdateMessage> Withdraw(BgpFamily family, IReadOnlyList<IPNetwork> prefixes)
    {
        List<UpdateMessage> updates = [];
        foreach (List<IPNetwork> chunk in Chunks(prefixes, Budget - (family == BgpFamily.IPv4Unicast ? 0 : 7)))
        {
            updates.Add(family == BgpFamily.IPv4Unicast
                ? new UpdateMessage { WithdrawnRoutes = chunk }
                : new UpdateMessage { Attributes = [new MpUnreachNlriAttribute(family, chunk)] });
        }
        return updates;
    }

    private static IEnumerable<List<IPNetwork>> Chunks(IReadOnlyList<IPNetwork> prefixes, int budget)
    {
        List<IPNetwork> chunk = [];
        int used = 0;
        foreach (IPNetwork prefix in prefixes)
        {
            int size = 1 + ((prefix.PrefixLength + 7) / 8);
            if (used + size > budget && chunk.Count > 0)
            {
                yield return chunk;
                chunk = [];
                used = 0;
            }
            chunk.Add(prefix);
            used += size;
        }
        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }
}
