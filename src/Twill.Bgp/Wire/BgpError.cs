using System.Diagnostics.CodeAnalysis;

namespace Twill.Bgp.Wire;

/// <summary>NOTIFICATION error codes (RFC 4271 §4.5, RFC 4486 for Cease subcodes).</summary>
public enum BgpErrorCode : byte
{
    /// <summary>1: the 19-octet header is wrong (marker, length or type).</summary>
    MessageHeader = 1,

    /// <summary>2: the OPEN is not acceptable (version, AS, identifier, hold time, parameters).</summary>
    Open = 2,

    /// <summary>3: an UPDATE that RFC 7606 cannot handle without a session reset.</summary>
    Update = 3,

    /// <summary>4: no KEEPALIVE or UPDATE arrived within the negotiated hold time.</summary>
    HoldTimerExpired = 4,

    /// <summary>5: a message arrived in a state that does not expect it.</summary>
    FiniteStateMachine = 5,

    /// <summary>6: the session is closed on purpose (subcodes in <see cref="BgpError"/>).</summary>
    Cease = 6,

    /// <summary>7: a ROUTE-REFRESH message is malformed (RFC 7313).</summary>
    RouteRefresh = 7,
}

/// <summary>
/// One NOTIFICATION error: a code and its subcode (RFC 4271 §4.5; Cease subcodes from RFC 4486 and
/// RFC 8538). Each error Twill sends or names is one entry below, written once with the words a log
/// uses for it, so a code never travels without its subcode and the numbers stand in one place.
/// </summary>
public readonly record struct BgpError(BgpErrorCode Code, byte Subcode)
{
    private static readonly Dictionary<BgpError, string> s_names = [];

    public static readonly BgpError ConnectionNotSynchronized = Header(1, "connection not synchronized");
    public static readonly BgpError BadMessageLength = Header(2, "bad message length");
    public static readonly BgpError BadMessageType = Header(3, "bad message type");

    /// <summary>RFC 4271 §6.2: a recognised optional parameter (or capability) that is malformed.</summary>
    public static readonly BgpError OpenUnspecific = new(BgpErrorCode.Open, 0);
    public static readonly BgpError UnsupportedVersionNumber = Open(1, "unsupported version");
    public static readonly BgpError BadPeerAs = Open(2, "bad peer AS");
    public static readonly BgpError BadBgpIdentifier = Open(3, "bad BGP identifier");
    public static readonly BgpError UnsupportedOptionalParameter = Open(4, "unsupported optional parameter");
    public static readonly BgpError UnacceptableHoldTime = Open(6, "unacceptable hold time");
    public static readonly BgpError UnsupportedCapability = Open(7, "unsupported capability");

    // UPDATE errors are logged by number (Describe).
    public static readonly BgpError MalformedAttributeList = new(BgpErrorCode.Update, 1);
    public static readonly BgpError UnrecognizedWellKnownAttribute = new(BgpErrorCode.Update, 2);
    public static readonly BgpError MissingWellKnownAttribute = new(BgpErrorCode.Update, 3);
    public static readonly BgpError AttributeFlagsError = new(BgpErrorCode.Update, 4);
    public static readonly BgpError AttributeLengthError = new(BgpErrorCode.Update, 5);
    public static readonly BgpError InvalidOriginAttribute = new(BgpErrorCode.Update, 6);
    public static readonly BgpError InvalidNextHopAttribute = new(BgpErrorCode.Update, 8);
    public static readonly BgpError OptionalAttributeError = new(BgpErrorCode.Update, 9);
    public static readonly BgpError InvalidNetworkField = new(BgpErrorCode.Update, 10);
    public static readonly BgpError MalformedAsPath = new(BgpErrorCode.Update, 11);

    public static readonly BgpError HoldTimerExpired = new(BgpErrorCode.HoldTimerExpired, 0);
    public static readonly BgpError FiniteStateMachine = new(BgpErrorCode.FiniteStateMachine, 0);

    public static readonly BgpError MaximumPrefixesReached = Cease(1, "maximum number of prefixes reached");
    public static readonly BgpError AdministrativeShutdown = Cease(2, "administrative shutdown");
    public static readonly BgpError PeerDeconfigured = Cease(3, "peer de-configured");
    public static readonly BgpError AdministrativeReset = Cease(4, "administrative reset");
    public static readonly BgpError ConnectionRejected = Cease(5, "connection rejected");
    public static readonly BgpError OtherConfigurationChange = Cease(6, "other configuration change");
    public static readonly BgpError ConnectionCollisionResolution = Cease(7, "connection collision resolution");
    public static readonly BgpError OutOfResources = Cease(8, "out of resources");
    public static readonly BgpError HardReset = Cease(9, "hard reset");

    /// <summary>The words a log uses: the entry's name, or what the code says with the subcode's number.</summary>
    public override string ToString() => s_names.TryGetValue(this, out string? name) ? name : Code switch
    {
        BgpErrorCode.Update => $"UPDATE error / subcode {Subcode}",
        BgpErrorCode.HoldTimerExpired => "hold timer expired",
        BgpErrorCode.FiniteStateMachine => "finite state machine error",
        _ => $"code {(byte)Code} subcode {Subcode}",
    };

    private static BgpError Header(byte subcode, string name) => Named(BgpErrorCode.MessageHeader, subcode, "message header error / " + name);

    private static BgpError Open(byte subcode, string name) => Named(BgpErrorCode.Open, subcode, "OPEN error / " + name);

    private static BgpError Cease(byte subcode, string name) => Named(BgpErrorCode.Cease, subcode, "cease / " + name);

    private static BgpError Named(BgpErrorCode code, byte subcode, string name)
    {
        BgpError error = new(code, subcode);
        s_names.Add(error, name);
        return error;
    }
}

/// <summary>
/// The only exception the decoder throws: the input breaks a rule that RFC 4271 / RFC 7606 answer
/// with a NOTIFICATION (session reset). It carries that NOTIFICATION's code, subcode and data, so
/// the session can send exactly it.
/// </summary>
public sealed class BgpProtocolException : Exception
{
    public BgpProtocolException(BgpError error, string message, byte[]? data = null)
        : base(message)
    {
        Error = error;
        Data = data ?? [];
    }

    public BgpProtocolException()
        : this(new BgpError(BgpErrorCode.Cease, 0), "BGP protocol error")
    {
    }

    public BgpProtocolException(string message)
        : this(new BgpError(BgpErrorCode.Cease, 0), message)
    {
    }

    public BgpProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = new BgpError(BgpErrorCode.Cease, 0);
        Data = [];
    }

    public BgpError Error { get; }

    public BgpErrorCode Code => Error.Code;

    public byte Subcode => Error.Subcode;

    /// <summary>The NOTIFICATION's data field (e.g. the offending attribute).</summary>
    public new byte[] Data { get; }

    /// <summary>The NOTIFICATION the session sends for this error.</summary>
    public NotificationMessage ToNotification() => new(Error, Data);
}

internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Throw(BgpError error, string message, byte[]? data = null) =>
        throw new BgpProtocolException(error, message, data);

    [DoesNotReturn]
    public static T Throw<T>(BgpError error, string message, byte[]? data = null) =>
        throw new BgpProtocolException(error, message, data);
}
