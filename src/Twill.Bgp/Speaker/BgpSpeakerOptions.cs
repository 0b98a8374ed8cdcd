using System.Net;
using Twill.Bgp.Session;

namespace Twill.Bgp.Speaker;

/// <summary>What the speaker announces and how, besides its peers.</summary>
public sealed record BgpSpeakerOptions
{
    /// <summary>The sessions to run (address, AS, timers, MD5, graceful restart per peer).</summary>
    public required IReadOnlyList<BgpPeerSettings> Peers { get; init; }

    /// <summary>Next hop of announced IPv4 prefixes: the node's address on the rack subnet.</summary>
    public IPAddress? NextHopIPv4 { get; init; }

    /// <summary>Global next hop of announced IPv6 prefixes.</summary>
    public IPAddress? NextHopIPv6 { get; init; }

    /// <summary>Optional link-local next hop sent beside <see cref="NextHopIPv6"/> (RFC 2545).</summary>
    public IPAddress? LinkLocalNextHopIPv6 { get; init; }

    /// <summary>COMMUNITIES attached to every announcement.</summary>
    public IReadOnlyList<uint> Communities { get; init; } = [];

    /// <summary>Import learnt routes through this filter; null: learnt routes are ignored.</summary>
    public ImportFilter? Import { get; init; }
}

/// <summary>A peer's state, for /readyz and logs.</summary>
public sealed record BgpPeerStatus(IPAddress Address, uint Asn, BgpState State, int AcceptedPrefixes);
