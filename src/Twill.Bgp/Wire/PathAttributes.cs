using System.Net;

namespace Twill.Bgp.Wire;

/// <summary>
/// One path attribute of an UPDATE (RFC 4271 §4.3):
/// <code>
///  0                   1
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
/// +---------------+---------------+
/// |  Attr. Flags  |Attr. Type Code|
/// +---------------+---------------+
///   then the attribute length: one octet, or two when the Extended Length bit is set
///
/// Attr. Flags: 0 1 2 3 4 5 6 7
///             +-+-+-+-+-+-+-+-+
///             |O|T|P|E|  0    |   O = optional, T = transitive, P = partial, E = extended length
///             +-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public abstract record PathAttribute
{
    public const byte OptionalFlag = 0x80;
    public const byte TransitiveFlag = 0x40;
    public const byte PartialFlag = 0x20;
    public const byte ExtendedLengthFlag = 0x10;

    public abstract PathAttributeType TypeCode { get; }

    /// <summary>The flags this attribute is sent with (Optional and Transitive as its definition says).</summary>
    public abstract byte Flags { get; }
}

/// <summary>Attribute type codes (IANA "BGP Path Attributes").</summary>
public enum PathAttributeType : byte
{
    Origin = 1,
    AsPath = 2,
    NextHop = 3,
    MultiExitDisc = 4,
    LocalPref = 5,
    AtomicAggregate = 6,
    Aggregator = 7,
    Communities = 8,
    MpReachNlri = 14,
    MpUnreachNlri = 15,
    As4Path = 17,
    As4Aggregator = 18,
}

/// <summary>ORIGIN values (RFC 4271 §5.1.1).</summary>
public enum Origin : byte
{
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

/// <summary>ORIGIN (type 1, well-known mandatory, length 1).</summary>
public sealed record OriginAttribute(Origin Origin) : PathAttribute
{
    public static OriginAttribute Igp { get; } = new(Origin.Igp);

    public override PathAttributeType TypeCode => PathAttributeType.Origin;

    public override byte Flags => TransitiveFlag;
}

/// <summary>AS_PATH segment types (RFC 4271 §4.3).</summary>
public enum AsPathSegmentType : byte
{
    AsSet = 1,
    AsSequence = 2,
}

/// <summary>
/// One AS_PATH segment:
/// <code>
/// +--------------+--------------+------------------------------+
/// | segment type | segment len  | AS numbers (2 or 4 octets    |
/// |  (1 octet)   | (1 = count)  |  each: RFC 6793)             |
/// +--------------+--------------+------------------------------+
/// </code>
/// </summary>
public sealed record AsPathSegment(AsPathSegmentType SegmentType, IReadOnlyList<uint> Asns);

/// <summary>
/// AS_PATH (type 2, well-known mandatory). ASNs are 4 octets each when both speakers announced the
/// 4-octet AS capability, else 2 (with AS_TRANS standing in for large ones; RFC 6793 §4.2).
/// </summary>
public sealed record AsPathAttribute(IReadOnlyList<AsPathSegment> Segments) : PathAttribute
{
    public static AsPathAttribute Empty { get; } = new([]);

    public override PathAttributeType TypeCode => PathAttributeType.AsPath;

    public override byte Flags => TransitiveFlag;

    /// <summary>Every ASN in the path, sets included.</summary>
    public IEnumerable<uint> AllAsns => Segments.SelectMany(s => s.Asns);

    public static AsPathAttribute Sequence(params uint[] asns) =>
        asns.Length == 0 ? Empty : new AsPathAttribute([new AsPathSegment(AsPathSegmentType.AsSequence, asns)]);

    public override string ToString() =>
        string.Join(' ', Segments.Select(s => s.SegmentType == AsPathSegmentType.AsSet ? "{" + string.Join(',', s.Asns) + "}" : string.Join(' ', s.Asns)));
}

/// <summary>NEXT_HOP (type 3, well-known mandatory for IPv4 NLRI, length 4).</summary>
public sealed record NextHopAttribute(IPAddress NextHop) : PathAttribute
{
    public override PathAttributeType TypeCode => PathAttributeType.NextHop;

    public override byte Flags => TransitiveFlag;
}

/// <summary>MULTI_EXIT_DISC (type 4, optional non-transitive, length 4).</summary>
public sealed record MultiExitDiscAttribute(uint Value) : PathAttribute
{
    public override PathAttributeType TypeCode => PathAttributeType.MultiExitDisc;

    public override byte Flags => OptionalFlag;
}

/// <summary>LOCAL_PREF (type 5, well-known, iBGP only, length 4).</summary>
public sealed record LocalPrefAttribute(uint Value) : PathAttribute
{
    public override PathAttributeType TypeCode => PathAttributeType.LocalPref;

    public override byte Flags => TransitiveFlag;
}

/// <summary>
/// COMMUNITIES (RFC 1997, type 8, optional transitive): a list of 4-octet values, conventionally
/// written <c>ASN:value</c> (two 16-bit halves).
/// </summary>
public sealed record CommunitiesAttribute(IReadOnlyList<uint> Communities) : PathAttribute
{
    public override PathAttributeType TypeCode => PathAttributeType.Communities;

    public override byte Flags => OptionalFlag | TransitiveFlag;

    public static string Format(uint community) => $"{community >> 16}:{community & 0xFFFF}";

    /// <summary>Parses <c>high:low</c> (each 0..65535) or a plain 32-bit number.</summary>
    public static bool TryParse(string text, out uint community)
    {
        community = 0;
        string[] parts = text.Split(':');
        if (parts.Length == 2 && ushort.TryParse(parts[0], out ushort high) && ushort.TryParse(parts[1], out ushort low))
        {
            community = ((uint)high << 16) | low;
            return true;
        }
        return parts.Length == 1 && uint.TryParse(parts[0], out community);
    }

    public override string ToString() => string.Join(' ', Communities.Select(Format));
}

/// <summary>
/// MP_REACH_NLRI (RFC 4760 §3, type 14, optional non-transitive):
/// <code>
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Length of Next Hop Network Address (1 octet)            |
/// +---------------------------------------------------------+
/// | Network Address of Next Hop (variable)                  |
/// +---------------------------------------------------------+
/// | Reserved (1 octet)                                      |
/// +---------------------------------------------------------+
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// </code>
/// For IPv6 the next hop is 16 octets (global) or 32 (global, then link-local; RFC 2545 §3).
/// </summary>
public sealed record MpReachNlriAttribute(BgpFamily Family, IPAddress NextHop, IPAddress? LinkLocalNextHop, IReadOnlyList<IPNetwork> Nlri) : PathAttribute
{
    public override PathAttributeType TypeCode => PathAttributeType.MpReachNlri;

    public override byte Flags => OptionalFlag;
}

/// <summary>
/// MP_UNREACH_NLRI (RFC 4760 §4, type 15, optional non-transitive):
/// <code>
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Withdrawn Routes (variable)                             |
/// +---------------------------------------------------------+
/// </code>
/// With no withdrawn routes it is the End-of-RIB marker of that family (RFC 4724 §2).
/// </summary>
public sealed record MpUnreachNlriAttribute(BgpFamily Family, IReadOnlyList<IPNetwork> Withdrawn) : PathAttribute
{
    public override PathAttributeType TypeCode => PathAttributeType.MpUnreachNlri;

    public override byte Flags => OptionalFlag;
}

/// <summary>
/// An attribute this speaker carries as raw octets: an unknown optional one, or a known one it does
/// not interpret (ATOMIC_AGGREGATE, AGGREGATOR, AS4_AGGREGATOR).
/// </summary>
public sealed record RawAttribute(byte RawFlags, byte RawType, byte[] Value) : PathAttribute
{
    public override PathAttributeType TypeCode => (PathAttributeType)RawType;

    public override byte Flags => RawFlags;
}
