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

    /// <summary>6: the session is closed on purpose (subcodes in <see cref="CeaseSubcode"/>).</summary>
    Cease = 6,

    /// <summary>7: a ROUTE-REFRESH message is malformed (RFC 7313).</summary>
    RouteRefresh = 7,
}

/// <summary>Subcodes of <see cref="BgpErrorCode.MessageHeader"/>.</summary>
public static class HeaderSubcode
{
    public const byte ConnectionNotSynchronized = 1;
    public const byte BadMessageLength = 2;
    public const byte BadMessageType = 3;
}

/// <summary>Subcodes of <see cref="BgpErrorCode.Open"/>.</summary>
public static class OpenSubcode
{
    public const byte UnsupportedVersionNumber = 1;
    public const byte BadPeerAs = 2;
    public const byte BadBgpIdentifier = 3;
    public const byte UnsupportedOptionalParameter = 4;
    public const byte UnacceptableHoldTime = 6;
    public const byte UnsupportedCapability = 7;
}

/// <summary>Subcodes of <see cref="BgpErrorCode.Update"/>.</summary>
public static class UpdateSubcode
{
    public const byte MalformedAttributeList = 1;
    public const byte UnrecognizedWellKnownAttribute = 2;
    public const byte MissingWellKnownAttribute = 3;
    public const byte AttributeFlagsError = 4;
    public const byte AttributeLengthError = 5;
    public const byte InvalidOriginAttribute = 6;
    public const byte InvalidNextHopAttribute = 8;
    public const byte OptionalAttributeError = 9;
    public const byte InvalidNetworkField = 10;
    public const byte MalformedAsPath = 11;
}

/// <summary>Subcodes of <see cref="BgpErrorCode.Cease"/> (RFC 4486, RFC 8538).</summary>
public static class CeaseSubcode
{
    public const byte MaximumPrefixesReached = 1;
    public const byte AdministrativeShutdown = 2;
    public const byte PeerDeconfigured = 3;
    public const byte AdministrativeReset = 4;
    public const byte ConnectionRejected = 5;
    public const byte OtherConfigurationChange = 6;
    public const byte ConnectionCollisionResolution = 7;
    public const byte OutOfResources = 8;
    public const byte HardReset = 9;
}

/// <summary>
/// The only exception the decoder throws: the input breaks a rule that RFC 4271 / RFC 7606 answer
/// with a NOTIFICATION (session reset). It carries that NOTIFICATION's code, subcode and data, so
/// the session can send exactly it.
/// </summary>
public sealed class BgpProtocolException : Exception
{
    public BgpProtocolException(BgpErrorCode code, byte subcode, string message, byte[]? data = null)
        : base(message)
    {
        Code = code;
        Subcode = subcode;
        Data = data ?? [];
    }

    public BgpProtocolException()
        : this(BgpErrorCode.Cease, 0, "BGP protocol error")
    {
    }

    public BgpProtocolException(string message)
        : this(BgpErrorCode.Cease, 0, message)
    {
    }

    public BgpProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = BgpErrorCode.Cease;
        Data = [];
    }

    public BgpErrorCode Code { get; }

    public byte Subcode { get; }

    /// <summary>The NOTIFICATION's data field (e.g. the offending attribute).</summary>
    public new byte[] Data { get; }

    /// <summary>The NOTIFICATION the session sends for this error.</summary>
    public NotificationMessage ToNotification() => new(Code, Subcode, Data);
}

internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Throw(BgpErrorCode code, byte subcode, string message, byte[]? data = null) =>
        throw new BgpProtocolException(code, subcode, message, data);

    [DoesNotReturn]
    public static T Throw<T>(BgpErrorCode code, byte subcode, string message, byte[]? data = null) =>
        throw new BgpProtocolException(code, subcode, message, data);
}
