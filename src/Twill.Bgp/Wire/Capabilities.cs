namespace Twill.Bgp.Wire;

/// <summary>
/// One capability of an OPEN's Capabilities optional parameter (RFC 5492):
/// <code>
/// +------------------------------+
/// | Capability Code (1 octet)    |
/// +------------------------------+
/// | Capability Length (1 octet)  |
/// +------------------------------+
/// | Capability Value (variable)  |
/// ~                              ~
/// +------------------------------+
/// </code>
/// </summary>
public abstract record Capability
{
    public const byte MultiprotocolCode = 1;
    public const byte RouteRefreshCode = 2;
    public const byte GracefulRestartCode = 64;
    public const byte FourOctetAsCode = 65;

    public abstract byte Code { get; }
}

/// <summary>
/// Multiprotocol Extensions (RFC 4760 §8), code 1, length 4:
/// <code>
///  0       7      15      23      31
/// +-------+-------+-------+-------+
/// |      AFI      | Res.  | SAFI  |
/// +-------+-------+-------+-------+
/// </code>
/// </summary>
public sealed record MultiprotocolCapability(BgpFamily Family) : Capability
{
    public override byte Code => MultiprotocolCode;
}

/// <summary>Route Refresh (RFC 2918 §2), code 2, length 0.</summary>
public sealed record RouteRefreshCapability : Capability
{
    public override byte Code => RouteRefreshCode;
}

/// <summary>
/// Support for 4-octet AS numbers (RFC 6793 §3), code 65, length 4: the speaker's real AS.
/// </summary>
public sealed record FourOctetAsCapability(uint Asn) : Capability
{
    public override byte Code => FourOctetAsCode;
}

/// <summary>
/// Graceful Restart (RFC 4724 §3, flags from RFC 8538), code 64:
/// <code>
/// +--------------------------------------------------+
/// | Restart Flags (4 bits)                           |
/// +--------------------------------------------------+
/// | Restart Time in seconds (12 bits)                |
/// +--------------------------------------------------+
/// | Address Family Identifier (16 bits)              |
/// +--------------------------------------------------+
/// | Subsequent Address Family Identifier (8 bits)    |
/// +--------------------------------------------------+
/// | Flags for Address Family (8 bits)                |
/// +--------------------------------------------------+
/// | ...                                              |
/// +--------------------------------------------------+
///
/// Restart Flags:  0 1 2 3
///                +-+-+-+-+
///                |R|N|   |     R = Restart State, N = Notification (RFC 8538)
///                +-+-+-+-+
/// Flags for Address Family: 0 1 2 3 4 5 6 7
///                          +-+-+-+-+-+-+-+-+
///                          |F|   Reserved  |   F = Forwarding State preserved
///                          +-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
/// <param name="RestartState">R: the speaker has restarted; the peer must not wait for its End-of-RIB before sending.</param>
/// <param name="Notification">N (RFC 8538): a NOTIFICATION other than Hard Reset also keeps routes stale. This speaker never sets it, so a clean stop withdraws at once.</param>
/// <param name="RestartTime">Seconds the peer keeps our routes after the session drops (12 bits, at most 4095).</param>
public sealed record GracefulRestartCapability(bool RestartState, bool Notification, ushort RestartTime, IReadOnlyList<GracefulRestartFamily> Families) : Capability
{
    public const ushort MaxRestartTime = 4095;

    public override byte Code => GracefulRestartCode;
}

/// <summary>One family of <see cref="GracefulRestartCapability"/>: whether its forwarding state survived the restart (F bit).</summary>
public readonly record struct GracefulRestartFamily(BgpFamily Family, bool ForwardingStatePreserved);

/// <summary>A capability this speaker does not implement (FRR sends 5, 6, 69, 70, 71, 73, 128 …): kept only so logs can name it.</summary>
public sealed record UnknownCapability(byte UnknownCode, byte[] Value) : Capability
{
    public override byte Code => UnknownCode;
}
