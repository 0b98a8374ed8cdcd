using System.Net;
using System.Text;

namespace Twill.Bgp.Wire;

/// <summary>The message type octet of the BGP header (RFC 4271 §4.1, RFC 2918).</summary>
public enum BgpMessageType : byte
{
    Open = 1,
    Update = 2,
    Notification = 3,
    Keepalive = 4,
    RouteRefresh = 5,
}

/// <summary>One BGP message, without its 19-octet header.</summary>
public abstract record BgpMessage
{
    public abstract BgpMessageType Type { get; }
}

/// <summary>
/// OPEN (RFC 4271 §4.2). <see cref="Asn"/> is the speaker's real AS number: when it exceeds 65535
/// the wire's My Autonomous System carries AS_TRANS (23456) and the real one travels in the 4-octet
/// AS capability (RFC 6793).
/// </summary>
public sealed record OpenMessage : BgpMessage
{
    /// <summary>RFC 6793 §9: the two-octet stand-in for an AS number that does not fit.</summary>
    public const ushort AsTrans = 23456;

    public override BgpMessageType Type => BgpMessageType.Open;

    public byte Version { get; init; } = 4;

    /// <summary>The speaker's AS: from the 4-octet AS capability when present, else My Autonomous System.</summary>
    public required uint Asn { get; init; }

    /// <summary>Proposed hold time in seconds: 0 (no keepalives) or at least 3.</summary>
    public required ushort HoldTime { get; init; }

    /// <summary>The BGP Identifier (router ID), an IPv4 address.</summary>
    public required IPAddress BgpIdentifier { get; init; }

    public IReadOnlyList<Capability> Capabilities { get; init; } = [];

    /// <summary>My Autonomous System as it was on the wire (decoded messages only; AS_TRANS for a large ASN).</summary>
    public ushort WireAs { get; init; }

    public bool Supports(BgpFamily family) =>
        Capabilities.OfType<MultiprotocolCapability>().Any(c => c.Family == family);

    /// <summary>Whether the OPEN carries any Multiprotocol capability (without one, IPv4 unicast is implied).</summary>
    public bool HasMultiprotocol => Capabilities.OfType<MultiprotocolCapability>().Any();

    public bool FourOctetAs => Capabilities.OfType<FourOctetAsCapability>().Any();

    public bool RouteRefresh => Capabilities.OfType<RouteRefreshCapability>().Any();

    public GracefulRestartCapability? GracefulRestart => Capabilities.OfType<GracefulRestartCapability>().FirstOrDefault();
}

/// <summary>KEEPALIVE (RFC 4271 §4.4): the header alone.</summary>
public sealed record KeepaliveMessage : BgpMessage
{
    public static KeepaliveMessage Instance { get; } = new();

    public override BgpMessageType Type => BgpMessageType.Keepalive;
}

/// <summary>NOTIFICATION (RFC 4271 §4.5): an error, after which the sender closes the connection.</summary>
public sealed record NotificationMessage(BgpErrorCode Code, byte Subcode, byte[] Data) : BgpMessage
{
    public NotificationMessage(BgpError error, byte[]? data = null)
        : this(error.Code, error.Subcode, data ?? [])
    {
    }

    public override BgpMessageType Type => BgpMessageType.Notification;

    /// <summary>Cease / Administrative Shutdown with a shutdown communication (RFC 9003: length octet + UTF-8, at most 255 octets).</summary>
    public static NotificationMessage AdministrativeShutdown(string reason)
    {
        byte[] text = Encoding.UTF8.GetBytes(reason);
        if (text.Length > 255)
        {
            text = text[..255];
        }
        return new NotificationMessage(BgpError.AdministrativeShutdown, [(byte)text.Length, .. text]);
    }

    /// <summary>The error this NOTIFICATION carries.</summary>
    public BgpError Error => new(Code, Subcode);

    /// <summary>A readable description: code, subcode, and the shutdown communication when there is one.</summary>
    public string Describe()
    {
        string name = Error.ToString();
        if ((Error == BgpError.AdministrativeShutdown || Error == BgpError.AdministrativeReset)
            && Data.Length > 0 && Data[0] > 0 && Data[0] <= Data.Length - 1)
        {
            string text = Encoding.UTF8.GetString(Data, 1, Data[0]);
            return $"{name}: \"{text}\"";
        }
        return name;
    }
}

/// <summary>ROUTE-REFRESH (RFC 2918): asks the peer to send its Adj-RIB-Out for one family again.</summary>
public sealed record RouteRefreshMessage(BgpFamily Family) : BgpMessage
{
    public override BgpMessageType Type => BgpMessageType.RouteRefresh;
}
