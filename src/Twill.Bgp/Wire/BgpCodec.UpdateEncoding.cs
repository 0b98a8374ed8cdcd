using System.Net;

namespace Twill.Bgp.Wire;

/// <summary>UPDATE encoding: withdrawn routes, path attributes (Extended Length when a value exceeds 255 octets) and NLRI.</summary>
public static partial class BgpCodec
{
    private static void EncodeUpdate(UpdateMessage update, BgpCodecOptions options, BgpWriter w)
    {
        BgpWriter.LengthToken withdrawn = w.ReserveLength16();
        w.WritePrefixes(update.WithdrawnRoutes);
        w.FillLength(withdrawn);
        BgpWriter.LengthToken attributes = w.ReserveLength16();
        foreach (PathAttribute attribute in update.Attributes)
        {
            EncodeAttribute(attribute, options, w);
        }
        w.FillLength(attributes);
        w.WritePrefixes(update.Nlri);
    }

    private static void EncodeAttribute(PathAttribute attribute, BgpCodecOptions options, BgpWriter w)
    {
        if (attribute is AsPathAttribute path && !options.FourOctetAs && path.AllAsns.Any(a => a > ushort.MaxValue))
        {
            // RFC 6793 §4.2.2: to a 2-octet speaker, AS_TRANS in AS_PATH and the real path in AS4_PATH.
            AsPathAttribute two = new([.. path.Segments.Select(s => s with { Asns = [.. s.Asns.Select(a => a > ushort.MaxValue ? OpenMessage.AsTrans : a)] })]);
            EncodeAttribute(two, options, w);
            WriteAttribute(w, PathAttribute.OptionalFlag | PathAttribute.TransitiveFlag, (byte)PathAttributeType.As4Path, AsPathLength(path, 4), false,
                ww => WriteAsPath(ww, path, 4));
            return;
        }
        switch (attribute)
        {
            case OriginAttribute origin:
                WriteAttribute(w, origin.Flags, 1, 1, false, ww => ww.WriteByte((byte)origin.Origin));
                break;
            case AsPathAttribute asPath:
                int size = options.FourOctetAs ? 4 : 2;
                WriteAttribute(w, asPath.Flags, 2, AsPathLength(asPath, size), false, ww => WriteAsPath(ww, asPath, size));
                break;
            case NextHopAttribute nextHop:
                WriteAttribute(w, nextHop.Flags, 3, 4, false, ww => ww.WriteAddress(nextHop.NextHop));
                break;
            case MultiExitDiscAttribute med:
                WriteAttribute(w, med.Flags, 4, 4, false, ww => ww.WriteUInt32(med.Value));
                break;
            case LocalPrefAttribute localPref:
                WriteAttribute(w, localPref.Flags, 5, 4, false, ww => ww.WriteUInt32(localPref.Value));
                break;
            case CommunitiesAttribute communities:
                WriteAttribute(w, communities.Flags, 8, communities.Communities.Count * 4, false, ww =>
                {
                    foreach (uint c in communities.Communities)
                    {
                        ww.WriteUInt32(c);
                    }
                });
                break;
            case MpReachNlriAttribute reach:
                // Extended length always: the NLRI run is what makes an UPDATE big.
                WriteAttribute(w, reach.Flags, 14, -1, true, ww =>
                {
                    ww.WriteFamily(reach.Family);
                    ww.WriteByte((byte)(reach.Family.AddressLength * (reach.LinkLocalNextHop is null ? 1 : 2)));
                    ww.WriteAddress(reach.NextHop);
                    if (reach.LinkLocalNextHop is not null)
                    {
                        ww.WriteAddress(reach.LinkLocalNextHop);
                    }
                    ww.WriteByte(0);
                    ww.WritePrefixes(reach.Nlri);
                });
                break;
            case MpUnreachNlriAttribute unreach:
                WriteAttribute(w, unreach.Flags, 15, -1, true, ww =>
                {
                    ww.WriteFamily(unreach.Family);
                    ww.WritePrefixes(unreach.Withdrawn);
                });
                break;
            case RawAttribute raw:
                WriteAttribute(w, (byte)(raw.RawFlags & ~PathAttribute.ExtendedLengthFlag), raw.RawType, raw.Value.Length, false, ww => ww.WriteBytes(raw.Value));
                break;
            default:
                throw new ArgumentException($"unknown attribute {attribute.GetType().Name}", nameof(attribute));
        }
    }

    /// <summary>Flags, type, a one- or two-octet length (two when <paramref name="length"/> exceeds 255 or is unknown), then the value.</summary>
    private static void WriteAttribute(BgpWriter w, byte flags, byte type, int length, bool extended, Action<BgpWriter> value)
    {
        extended |= length > 255 || length < 0;
        w.WriteByte(extended ? (byte)(flags | PathAttribute.ExtendedLengthFlag) : (byte)(flags & ~PathAttribute.ExtendedLengthFlag));
        w.WriteByte(type);
        BgpWriter.LengthToken token = extended ? w.ReserveLength16() : w.ReserveLength8();
        value(w);
        w.FillLength(token);
    }

    private static int AsPathLength(AsPathAttribute path, int asnSize) =>
        path.Segments.Sum(s => (((s.Asns.Count + 254) / 255) * 2) + (s.Asns.Count * asnSize));

    private static void WriteAsPath(BgpWriter w, AsPathAttribute path, int asnSize)
    {
        foreach (AsPathSegment segment in path.Segments)
        {
            // A segment holds at most 255 ASNs; longer sequences are split (RFC 4271 §5.1.2).
            for (int start = 0; start < segment.Asns.Count; start += 255)
            {
                int count = Math.Min(255, segment.Asns.Count - start);
                w.WriteByte((byte)segment.SegmentType);
                w.WriteByte((byte)count);
                for (int i = start; i < start + count; i++)
                {
                    if (asnSize == 4)
                    {
                        w.WriteUInt32(segment.Asns[i]);
                    }
                    else
                    {
                        w.WriteUInt16((ushort)segment.Asns[i]);
                    }
                }
            }
        }
    }
}
