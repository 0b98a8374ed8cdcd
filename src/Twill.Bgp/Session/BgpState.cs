using Twill.Bgp.Wire;

namespace Twill.Bgp.Session;

/// <summary>The session states of RFC 4271 §8.2.2.</summary>
public enum BgpState
{
    Idle,

    /// <summary>A TCP connect to the peer is under way.</summary>
    Connect,

    /// <summary>Waiting to retry the connect (and accepting the peer's connection if we listen).</summary>
    Active,

    OpenSent,
    OpenConfirm,
    Established,
}

/// <summary>What the two OPENs agreed.</summary>
public sealed record NegotiatedSession(
    OpenMessage Local,
    OpenMessage Peer,
    ushort HoldTime,
    IReadOnlyList<BgpFamily> Families,
    bool FourOctetAs,
    bool RouteRefresh,
    GracefulRestartCapability? PeerGracefulRestart)
{
    public BgpCodecOptions CodecOptions => new(FourOctetAs);

    /// <summary>RFC 4271 §10: a third of the hold time (none when the hold time is 0).</summary>
    public TimeSpan KeepaliveInterval => HoldTime == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(HoldTime / 3.0);
}
