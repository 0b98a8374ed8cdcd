using System.Net;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Session;

/// <summary>Everything one session needs: both ends, timers, what to offer in the OPEN.</summary>
public sealed record BgpPeerSettings
{
    /// <summary>The well-known BGP port.</summary>
    public const int DefaultPort = 179;

    /// <summary>RFC 4271's suggested hold time.</summary>
    public const ushort DefaultHoldTime = 90;

    /// <summary>FRR's and RFC 4724's usual restart time.</summary>
    public const ushort DefaultRestartTime = 120;

    public required uint LocalAsn { get; init; }

    public required IPAddress RouterId { get; init; }

    public required IPAddress PeerAddress { get; init; }

    public required uint PeerAsn { get; init; }

    public int Port { get; init; } = DefaultPort;

    /// <summary>Proposed hold time in seconds: 0 (no keepalives) or 3..65535. The session uses the smaller of both ends'.</summary>
    public ushort HoldTime { get; init; } = DefaultHoldTime;

    /// <summary>The families offered with Multiprotocol capabilities.</summary>
    public IReadOnlyList<BgpFamily> Families { get; init; } = [BgpFamily.IPv4Unicast, BgpFamily.IPv6Unicast];

    /// <summary>Offer Graceful Restart (RFC 4724) as a restarting speaker.</summary>
    public bool GracefulRestart { get; init; } = true;

    /// <summary>How long the peer keeps our routes after our session drops without a NOTIFICATION (at most 4095 s).</summary>
    public ushort RestartTime { get; init; } = DefaultRestartTime;

    /// <summary>Set the R bit in the first OPEN: this speaker restarted (the agent found its own state from before).</summary>
    public bool Restarting { get; init; }

    /// <summary>TCP-MD5 (RFC 2385) key, or null.</summary>
    public string? Md5Password { get; init; }

    /// <summary>How long a TCP connect may take; a wrong MD5 key shows up as exactly this timeout.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>First reconnect delay; doubles per failure up to <see cref="ConnectRetryMax"/>, with jitter.</summary>
    public TimeSpan ConnectRetryMin { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan ConnectRetryMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The peer is external (different AS).</summary>
    public bool IsExternal => PeerAsn != LocalAsn;

    public override string ToString() => $"{PeerAddress} AS{PeerAsn}";
}
