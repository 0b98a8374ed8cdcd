using System.Buffers.Binary;
using System.Net;

namespace Twill.Bgp.Wire;

public static partial class BgpCodec
{
    /// <summary>
    /// Decodes an UPDATE body with RFC 7606's revised error handling:
    /// <list type="bullet">
    /// <item>lengths that do not add up to the message (withdrawn routes, total attribute length),
    /// NLRI that cannot be parsed, a malformed MP_REACH/MP_UNREACH or one repeated, an unrecognised
    /// well-known attribute: session reset (<see cref="BgpProtocolException"/>);</item>
    /// <item>a malformed ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF or COMMUNITIES, wrong flags on a
    /// known attribute, an attribute overrunning the attribute field, a missing mandatory attribute:
    /// "treat-as-withdraw" (<see cref="UpdateMessage.Error"/>), the session stays up;</item>
    /// <item>malformed ATOMIC_AGGREGATE / AGGREGATOR: attribute discard; repeated attributes other
    /// than MP_*: all but the first discarded; unknown optional attributes: kept raw, ignored.</item>
    /// </list>
    /// </summary>
    private static UpdateMessage DecodeUpdate(ReadOnlySpan<byte> body, BgpCodecOptions options)
    {
        BgpReader r = new(body, BgpError.MalformedAttributeList, "UPDATE");
        int withdrawnLength = r.ReadUInt16();
        if (withdrawnLength + 2 > r.Remaining)
        {
            ThrowHelper.Throw(BgpError.MalformedAttributeList, $"UPDATE withdrawn routes length {withdrawnLength} overruns the message");
        }
        IReadOnlyList<IPNetwork> withdrawn = DecodePrefixes(r.ReadBytes(withdrawnLength), BgpFamily.IPv4Unicast, "withdrawn routes");
        int attributesLength = r.ReadUInt16();
        if (attributesLength > r.Remaining)
        {
            ThrowHelper.Throw(BgpError.MalformedAttributeList, $"UPDATE total path attribute length {attributesLength} overruns the message");
        }
        ReadOnlySpan<byte> attributeField = r.ReadBytes(attributesLength);
        IReadOnlyList<IPNetwork> nlri = DecodePrefixes(r.ReadRest(), BgpFamily.IPv4Unicast, "NLRI");

        List<PathAttribute> attributes = [];
        UpdateError? error = null;
        void Malformed(UpdateErrorAction action, string reason)
        {
            // Treat-as-withdraw outranks attribute discard; the first reason of the strongest kind is kept.
            if (error is null || (action == UpdateErrorAction.TreatAsWithdraw && error.Action != UpdateErrorAction.TreatAsWithdraw))
            {
                error = new UpdateError(action, reason);
            }
        }

        ulong seen = 0;
        byte[]? as4Path = null;
        int at = 0;
        while (at < attributeField.Length)
        {
            ReadOnlySpan<byte> rest = attributeField[at..];
            if (rest.Length < 3 || ((rest[0] & PathAttribute.ExtendedLengthFlag) != 0 && rest.Length < 4))
            {
                Malformed(UpdateErrorAction.TreatAsWithdraw, $"{rest.Length} octets left in the attribute field, too few for an attribute");
                break;
            }
            byte flags = rest[0];
            byte type = rest[1];
            bool extendedLength = (flags & PathAttribute.ExtendedLengthFlag) != 0;
            int headerLength = extendedLength ? 4 : 3;
            int length = extendedLength ? BinaryPrimitives.ReadUInt16BigEndian(rest[2..]) : rest[2];
            if (headerLength + length > rest.Length)
            {
                Malformed(UpdateErrorAction.TreatAsWithdraw, $"attribute {type} of {length} octets overruns the attribute field");
                break;
            }
            ReadOnlySpan<byte> value = rest.Slice(headerLength, length);
            at += headerLength + length;

            bool repeated = type < 64 && (seen & (1UL << type)) != 0;
            if (type < 64)
            {
                seen |= 1UL << type;
            }
            if (repeated)
            {
                if (type is (byte)PathAttributeType.MpReachNlri or (byte)PathAttributeType.MpUnreachNlri)
                {
                    ThrowHelper.Throw(BgpError.MalformedAttributeList, $"attribute {(PathAttributeType)type} appears more than once");
                }
                continue; // RFC 7606 §3(g): keep the first, discard the others.
            }
            DecodeAttribute(flags, type, value, options, attributes, Malformed, ref as4Path);
        }

        bool announces = nlri.Count > 0 || attributes.OfType<MpReachNlriAttribute>().Any(m => m.Nlri.Count > 0);
        if (announces && error?.Action != UpdateErrorAction.TreatAsWithdraw)
        {
            // RFC 7606 §3(d): a missing well-known mandatory attribute is treat-as-withdraw.
            if (!attributes.OfType<OriginAttribute>().Any())
            {
                Malformed(UpdateErrorAction.TreatAsWithdraw, "ORIGIN is missing");
            }
            else if (!attributes.OfType<AsPathAttribute>().Any())
            {
                Malformed(UpdateErrorAction.TreatAsWithdraw, "AS_PATH is missing");
            }
            else if (nlri.Count > 0 && !attributes.OfType<NextHopAttribute>().Any())
            {
                Malformed(UpdateErrorAction.TreatAsWithdraw, "NEXT_HOP is missing");
            }
        }
        if (as4Path is not null && !options.FourOctetAs)
        {
            MergeAs4Path(attributes, as4Path);
        }
        return new UpdateMessage { WithdrawnRoutes = withdrawn, Attributes = attributes, Nlri = nlri, Error = error };
    }

    private delegate void MalformedHandler(UpdateErrorAction action, string reason);

    private static void DecodeAttribute(byte flags, byte type, ReadOnlySpan<byte> value, BgpCodecOptions options,
        List<PathAttribute> into, MalformedHandler malformed, ref byte[]? as4Path)
    {
        const byte OT = PathAttribute.OptionalFlag | PathAttribute.TransitiveFlag;
        bool FlagsAre(byte expected, string name)
        {
            if ((flags & OT) == expected)
            {
                return true;
            }
            malformed(UpdateErrorAction.TreatAsWithdraw, $"{name} has flags 0x{flags:x2}, expected optional/transitive bits 0x{expected:x2}");
            return false;
        }
        int length = value.Length;
        bool FlagsAndSizeAre(byte expectedFlags, string name, int size)
        {
            if (!FlagsAre(expectedFlags, name))
            {
                return false;
            }
            if (length != size)
            {
                malformed(UpdateErrorAction.TreatAsWithdraw, $"{name} of length {length}");
                return false;
            }
            return true;
        }
        switch ((PathAttributeType)type)
        {
            case PathAttributeType.Origin:
                if (FlagsAre(PathAttribute.TransitiveFlag, "ORIGIN"))
                {
                    if (value.Length != 1 || value[0] > (byte)Origin.Incomplete)
                    {
                        malformed(UpdateErrorAction.TreatAsWithdraw, value.Length != 1 ? $"ORIGIN of length {value.Length}" : $"ORIGIN value {value[0]}");
                    }
                    else
                    {
                        into.Add(value[0] == 0 ? OriginAttribute.Igp : new OriginAttribute((Origin)value[0]));
                    }
                }
                break;
            case PathAttributeType.AsPath:
                if (FlagsAre(PathAttribute.TransitiveFlag, "AS_PATH"))
                {
                    if (TryDecodeAsPath(value, options.FourOctetAs ? 4 : 2, out AsPathAttribute? path, out string? why))
                    {
                        into.Add(path);
                    }
                    else
                    {
                        malformed(UpdateErrorAction.TreatAsWithdraw, why);
                    }
                }
                break;
            case PathAttributeType.NextHop:
                if (FlagsAndSizeAre(PathAttribute.TransitiveFlag, "NEXT_HOP", 4))
                {
                    into.Add(new NextHopAttribute(new IPAddress(value)));
                }
                break;
            case PathAttributeType.MultiExitDisc:
                if (FlagsAndSizeAre(PathAttribute.OptionalFlag, "MULTI_EXIT_DISC", 4))
                {
                    into.Add(new MultiExitDiscAttribute(BinaryPrimitives.ReadUInt32BigEndian(value)));
                }
                break;
            case PathAttributeType.LocalPref:
                if (FlagsAndSizeAre(PathAttribute.TransitiveFlag, "LOCAL_PREF", 4))
                {
                    into.Add(new LocalPrefAttribute(BinaryPrimitives.ReadUInt32BigEndian(value)));
                }
                break;
            case PathAttributeType.AtomicAggregate:
                if (value.Length != 0)
                {
                    malformed(UpdateErrorAction.AttributeDiscard, $"ATOMIC_AGGREGATE of length {value.Length} discarded");
                }
                else
                {
                    into.Add(new RawAttribute(flags, type, []));
                }
                break;
            case PathAttributeType.Aggregator:
            case PathAttributeType.As4Aggregator:
                int expected = type == (byte)PathAttributeType.As4Aggregator || options.FourOctetAs ? 8 : 6;
                if (value.Length != expected)
                {
                    malformed(UpdateErrorAction.AttributeDiscard, $"{(PathAttributeType)type} of length {value.Length} discarded");
                }
                else
                {
                    into.Add(new RawAttribute(flags, type, value.ToArray()));
                }
                break;
            case PathAttributeType.Communities:
                if (FlagsAre(OT, "COMMUNITIES"))
                {
                    if (value.Length == 0 || value.Length % 4 != 0)
                    {
                        malformed(UpdateErrorAction.TreatAsWithdraw, $"COMMUNITIES of length {value.Length}");
                    }
                    else
                    {
                        uint[] communities = new uint[value.Length / 4];
                        for (int i = 0; i < communities.Length; i++)
                        {
                            communities[i] = BinaryPrimitives.ReadUInt32BigEndian(value[(4 * i)..]);
                        }
                        into.Add(new CommunitiesAttribute(communities));
                    }
                }
                break;
            case PathAttributeType.MpReachNlri:
                if (DecodeMpReach(value) is PathAttribute reach)
                {
                    into.Add(reach);
                }
                break;
            case PathAttributeType.MpUnreachNlri:
                if (DecodeMpUnreach(value) is PathAttribute unreach)
                {
                    into.Add(unreach);
                }
                break;
            case PathAttributeType.As4Path:
                // Only meaningful from a 2-octet speaker (RFC 6793 §4.2.3); a 4-octet one's is ignored.
                if (!options.FourOctetAs)
                {
                    as4Path = value.ToArray();
                }
                break;
            default:
                if ((flags & PathAttribute.OptionalFlag) == 0)
                {
                    ThrowHelper.Throw(BgpError.UnrecognizedWellKnownAttribute,
                        $"unrecognised well-known attribute {type}", [flags, type, (byte)value.Length]);
                }
                into.Add(new RawAttribute(flags, type, value.ToArray()));
                break;
        }
    }

    /// <summary>AS_PATH segments with <paramref name="asnSize"/>-octet ASNs; false (and why) when malformed.</summary>
    private static bool TryDecodeAsPath(ReadOnlySpan<byte> value, int asnSize, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out AsPathAttribute? path, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? why)
    {
        List<AsPathSegment> segments = [];
        int at = 0;
        while (at < value.Length)
        {
            if (value.Length - at < 2)
            {
                (path, why) = (null, "AS_PATH ends inside a segment header");
                return false;
            }
            byte segmentType = value[at];
            int count = value[at + 1];
            if (segmentType is not ((byte)AsPathSegmentType.AsSet or (byte)AsPathSegmentType.AsSequence))
            {
                (path, why) = (null, $"AS_PATH segment type {segmentType}");
                return false;
            }
            if (count == 0)
            {
                (path, why) = (null, "AS_PATH segment of zero ASNs");
                return false;
            }
            if (at + 2 + (count * asnSize) > value.Length)
            {
                (path, why) = (null, $"AS_PATH segment of {count} ASNs overruns the attribute");
                return false;
            }
            uint[] asns = new uint[count];
            for (int i = 0; i < count; i++)
            {
                int o = at + 2 + (i * asnSize);
                asns[i] = asnSize == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value[o..]) : BinaryPrimitives.ReadUInt16BigEndian(value[o..]);
            }
            segments.Add(new AsPathSegment((AsPathSegmentType)segmentType, asns));
            at += 2 + (count * asnSize);
        }
        (path, why) = (new AsPathAttribute(segments), null);
        return true;
    }

    /// <summary>RFC 6793 §4.2.3: the leading ASNs of AS_PATH the AS4_PATH does not cover, then AS4_PATH.</summary>
    private static void MergeAs4Path(List<PathAttribute> attributes, byte[] as4Path)
    {
        int index = attributes.FindIndex(a => a is AsPathAttribute);
        if (index < 0 || !TryDecodeAsPath(as4Path, 4, out AsPathAttribute? four, out _))
        {
            return; // A malformed AS4_PATH is discarded (RFC 6793 §6).
        }
        uint[] two = [.. ((AsPathAttribute)attributes[index]).AllAsns];
        uint[] four4 = [.. four.AllAsns];
        if (four4.Length > two.Length)
        {
            return;
        }
        attributes[index] = AsPathAttribute.Sequence([.. two[..(two.Length - four4.Length)], .. four4]);
    }

    private static PathAttribute? DecodeMpReach(ReadOnlySpan<byte> value)
    {
        BgpReader r = new(value, BgpError.OptionalAttributeError, "MP_REACH_NLRI");
        BgpFamily family = r.ReadFamily();
        int nextHopLength = r.ReadByte();
        ReadOnlySpan<byte> nextHop = r.ReadBytes(nextHopLength);
        r.ReadByte(); // Reserved
        if (!family.IsSupported)
        {
            return new RawAttribute(PathAttribute.OptionalFlag, (byte)PathAttributeType.MpReachNlri, value.ToArray());
        }
        IPAddress global;
        IPAddress? linkLocal = null;
        switch (family.Afi, nextHopLength)
        {
            case (Afi.IPv4, 4):
                global = new IPAddress(nextHop);
                break;
            case (Afi.IPv6, 16):
                global = new IPAddress(nextHop);
                break;
            case (Afi.IPv6, 32):
                global = new IPAddress(nextHop[..16]);
                linkLocal = new IPAddress(nextHop[16..]);
                break;
            default:
                // RFC 7606 §7.11: a next hop of the wrong length is "AFI/SAFI disable" or session reset.
                return ThrowHelper.Throw<PathAttribute>(BgpError.OptionalAttributeError,
                    $"MP_REACH_NLRI {family} next hop of {nextHopLength} octets");
        }
        return new MpReachNlriAttribute(family, global, linkLocal, DecodePrefixes(r.ReadRest(), family, "MP_REACH_NLRI"));
    }

    private static PathAttribute? DecodeMpUnreach(ReadOnlySpan<byte> value)
    {
        BgpReader r = new(value, BgpError.OptionalAttributeError, "MP_UNREACH_NLRI");
        BgpFamily family = r.ReadFamily();
        if (!family.IsSupported)
        {
            return new RawAttribute(PathAttribute.OptionalFlag, (byte)PathAttributeType.MpUnreachNlri, value.ToArray());
        }
        return new MpUnreachNlriAttribute(family, DecodePrefixes(r.ReadRest(), family, "MP_UNREACH_NLRI"));
    }

    /// <summary>
    /// A run of NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5):
    /// <code>
    /// +---------------------------+
    /// |   Length (1 octet, bits)  |
    /// +---------------------------+
    /// |   Prefix (variable)       |   ceil(Length / 8) octets
    /// +---------------------------+
    /// </code>
    /// Bits past the length are cleared. A prefix that does not fit is a session reset (RFC 7606 §5.3).
    /// </summary>
    internal static IReadOnlyList<IPNetwork> DecodePrefixes(ReadOnlySpan<byte> data, BgpFamily family, string what)
    {
        if (data.IsEmpty)
        {
            return [];
        }
        int maxBits = family.AddressLength * 8;
        List<IPNetwork> prefixes = new(data.Length / 4);
        Span<byte> address = stackalloc byte[16];
        int at = 0;
        while (at < data.Length)
        {
            int bits = data[at];
            int octets = (bits + 7) / 8;
            if (bits > maxBits || at + 1 + octets > data.Length)
            {
                ThrowHelper.Throw(BgpError.InvalidNetworkField,
                    bits > maxBits ? $"{what}: {family} prefix length {bits}" : $"{what}: prefix of {bits} bits overruns the field");
            }
            Span<byte> a = address[..family.AddressLength];
            a.Clear();
            data.Slice(at + 1, octets).CopyTo(a);
            if (bits % 8 != 0)
            {
                a[octets - 1] &= (byte)(0xFF << (8 - (bits % 8)));
            }
            prefixes.Add(new IPNetwork(new IPAddress(a), bits));
            at += 1 + octets;
        }
        return prefixes;
    }
}
