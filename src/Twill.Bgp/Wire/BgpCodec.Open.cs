using System.Net;

namespace Twill.Bgp.Wire;

public static partial class BgpCodec
{
    private const byte CapabilitiesParameter = 2;

    /// <summary>RFC 9072: an Opt Parm Len of 255 followed by this type announces extended (2-octet) parameter lengths.</summary>
    private const byte ExtendedParametersType = 255;

    /// <summary>
    /// OPEN body (RFC 4271 §4.2):
    /// <code>
    ///  0                   1                   2                   3
    ///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    /// +-+-+-+-+-+-+-+-+
    /// |    Version    |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |     My Autonomous System      |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |           Hold Time           |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                         BGP Identifier                        |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// | Opt Parm Len  |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |             Optional Parameters (variable)                    |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    ///
    /// each Optional Parameter:  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    ///                           |  Parm. Type   | Parm. Length  | Parameter Value (var.)
    ///                           +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// </code>
    /// Only parameter type 2, Capabilities (RFC 5492), is defined today; RFC 9072's extended form
    /// (Opt Parm Len 255, type 255, two-octet lengths) is read too.
    /// </summary>
    private static OpenMessage DecodeOpen(ReadOnlySpan<byte> body)
    {
        BgpReader r = new(body, BgpError.BadMessageLength, "OPEN");
        byte version = r.ReadByte();
        if (version != 4)
        {
            ThrowHelper.Throw(BgpError.UnsupportedVersionNumber, $"OPEN version {version}, only 4 is supported", [0, 4]);
        }
        ushort myAs = r.ReadUInt16();
        ushort holdTime = r.ReadUInt16();
        ReadOnlySpan<byte> identifier = r.ReadBytes(4);
        if (holdTime is 1 or 2)
        {
            ThrowHelper.Throw(BgpError.UnacceptableHoldTime, $"OPEN hold time {holdTime} s (must be 0 or at least 3)");
        }
        if (System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(identifier) == 0)
        {
            ThrowHelper.Throw(BgpError.BadBgpIdentifier, "OPEN BGP identifier 0.0.0.0");
        }
        int parametersLength = r.ReadByte();
        bool extended = false;
        if (parametersLength == 255 && r.Remaining >= 3 && body[r.Position] == ExtendedParametersType)
        {
            r.ReadByte();
            parametersLength = r.ReadUInt16();
            extended = true;
        }
        if (parametersLength != r.Remaining)
        {
            ThrowHelper.Throw(BgpError.OpenUnspecific, $"OPEN optional parameters length {parametersLength}, {r.Remaining} octets follow");
        }
        List<Capability> capabilities = [];
        BgpReader p = new(r.ReadRest(), BgpError.OpenUnspecific, "OPEN optional parameter");
        while (!p.IsEmpty)
        {
            byte type = p.ReadByte();
            int length = extended ? p.ReadUInt16() : p.ReadByte();
            ReadOnlySpan<byte> value = p.ReadBytes(length);
            if (type != CapabilitiesParameter)
            {
                ThrowHelper.Throw(BgpError.UnsupportedOptionalParameter, $"OPEN optional parameter type {type}", [type]);
            }
            DecodeCapabilities(value, capabilities);
        }
        uint asn = capabilities.OfType<FourOctetAsCapability>().Select(c => (uint?)c.Asn).FirstOrDefault() ?? myAs;
        return new OpenMessage
        {
            Version = version,
            Asn = asn,
            WireAs = myAs,
            HoldTime = holdTime,
            BgpIdentifier = new IPAddress(identifier),
            Capabilities = capabilities,
        };
    }

    private static void DecodeCapabilities(ReadOnlySpan<byte> value, List<Capability> into)
    {
        BgpReader c = new(value, BgpError.OpenUnspecific, "capability");
        while (!c.IsEmpty)
        {
            byte code = c.ReadByte();
            int length = c.ReadByte();
            ReadOnlySpan<byte> v = c.ReadBytes(length);
            BgpReader cv = new(v, BgpError.OpenUnspecific, $"capability {code} of {length} octets");
            switch (code)
            {
                case Capability.MultiprotocolCode when length == 4:
                    Afi afi = (Afi)cv.ReadUInt16();
                    cv.ReadByte();
                    into.Add(new MultiprotocolCapability(new BgpFamily(afi, (Safi)cv.ReadByte())));
                    break;
                case Capability.RouteRefreshCode when length == 0:
                    into.Add(new RouteRefreshCapability());
                    break;
                case Capability.FourOctetAsCode when length == 4:
                    into.Add(new FourOctetAsCapability(cv.ReadUInt32()));
                    break;
                case Capability.GracefulRestartCode when length >= 2 && (length - 2) % 4 == 0:
                    ushort flagsAndTime = cv.ReadUInt16();
                    List<GracefulRestartFamily> families = [];
                    while (!cv.IsEmpty)
                    {
                        BgpFamily family = cv.ReadFamily();
                        byte familyFlags = cv.ReadByte();
                        families.Add(new GracefulRestartFamily(family, (familyFlags & 0x80) != 0));
                    }
                    into.Add(new GracefulRestartCapability(
                        RestartState: (flagsAndTime & 0x8000) != 0,
                        Notification: (flagsAndTime & 0x4000) != 0,
                        RestartTime: (ushort)(flagsAndTime & 0x0FFF),
                        families));
                    break;
                case Capability.MultiprotocolCode or Capability.RouteRefreshCode or Capability.FourOctetAsCode or Capability.GracefulRestartCode:
                    ThrowHelper.Throw(BgpError.OpenUnspecific, $"capability {code} has a malformed length {length}");
                    break;
                default:
                    into.Add(new UnknownCapability(code, v.ToArray()));
                    break;
            }
        }
    }

    private static void EncodeOpen(OpenMessage open, BgpWriter w)
    {
        if (open.BgpIdentifier.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"BGP identifier {open.BgpIdentifier} must be an IPv4 address", nameof(open));
        }
        w.WriteByte(open.Version);
        w.WriteUInt16(open.Asn > ushort.MaxValue ? OpenMessage.AsTrans : (ushort)open.Asn);
        w.WriteUInt16(open.HoldTime);
        w.WriteAddress(open.BgpIdentifier);
        BgpWriter.LengthToken all = w.ReserveLength8();
        if (open.Capabilities.Count > 0)
        {
            // One Capabilities parameter holding every capability, as RFC 5492 §4 recommends.
            w.WriteByte(CapabilitiesParameter);
            BgpWriter.LengthToken parameter = w.ReserveLength8();
            foreach (Capability capability in open.Capabilities)
            {
                EncodeCapability(capability, w);
            }
            w.FillLength(parameter);
        }
        w.FillLength(all);
    }

    private static void EncodeCapability(Capability capability, BgpWriter w)
    {
        w.WriteByte(capability.Code);
        BgpWriter.LengthToken length = w.ReserveLength8();
        switch (capability)
        {
            case MultiprotocolCapability mp:
                w.WriteUInt16((ushort)mp.Family.Afi);
                w.WriteByte(0);
                w.WriteByte((byte)mp.Family.Safi);
                break;
            case RouteRefreshCapability:
                break;
            case FourOctetAsCapability four:
                w.WriteUInt32(four.Asn);
                break;
            case GracefulRestartCapability gr:
                if (gr.RestartTime > GracefulRestartCapability.MaxRestartTime)
                {
                    throw new ArgumentException($"graceful restart time {gr.RestartTime} exceeds {GracefulRestartCapability.MaxRestartTime} s", nameof(capability));
                }
                w.WriteUInt16((ushort)((gr.RestartState ? 0x8000 : 0) | (gr.Notification ? 0x4000 : 0) | gr.RestartTime));
                foreach (GracefulRestartFamily f in gr.Families)
                {
                    w.WriteFamily(f.Family);
                    w.WriteByte(f.ForwardingStatePreserved ? (byte)0x80 : (byte)0);
                }
                break;
            case UnknownCapability unknown:
                w.WriteBytes(unknown.Value);
                break;
        }
        w.FillLength(length);
    }
}
