using System.Net;
using Microsoft.Extensions.Logging;
using Twill.Bgp;
using Twill.Bgp.Config;
using Twill.Bgp.Session;
using Twill.Bgp.Speaker;
using Twill.Core;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// The bgp backend's control plane: in mode "bgp" a <see cref="BgpSpeaker"/> announces this node's
/// subnet(s) to the configured ToR peers with the node's public IP as next hop; in mode "static" it
/// does nothing (the operator programs the switch from <c>twill tor routes</c>). A clean stop sends
/// a Cease, so the ToR withdraws at once; a crash leaves the route to graceful restart, and the
/// next run, finding the previous run's subnet.env, sets the Restart State (R) bit.
/// </summary>
internal sealed class TorAnnouncer : IAsyncDisposable
{
    private readonly BgpSpeaker? _speaker;
    private readonly ILogger _log;

    private TorAnnouncer(BgpSpeaker? speaker, ILogger log)
    {
        _speaker = speaker;
        _log = log;
    }

    /// <summary>The node name <c>Backend.NodeASNs</c> is keyed by: <c>NODE_NAME</c>, else the host name.</summary>
    public static string NodeName => Environment.GetEnvironmentVariable("NODE_NAME") is { Length: > 0 } name ? name : Environment.MachineName;

    /// <summary>Reads the section (throws <see cref="BgpConfigException"/> naming the field) and, in mode bgp, starts the sessions announcing <paramref name="lease"/>'s subnets.</summary>
    public static TorAnnouncer Start(BgpBackendSection section, Lease lease, IPAddress? publicIP, IPAddress? publicIPv6, bool restarting, ILogger log)
    {
        BgpBackendConfig config = BgpBackendConfigReader.Parse(section.Json, out IReadOnlyList<string> warnings);
        foreach (string warning in warnings)
        {
            log.LogWarning("{Warning}", warning);
        }
        if (config.Mode == TorMode.Static)
        {
            log.LogInformation("Backend bgp in static mode: nothing announced, no peer routes; the ToR's routes come from 'twill tor routes'");
            return new TorAnnouncer(null, log);
        }
        IPAddress nodeAddress = publicIP ?? publicIPv6 ?? throw new BgpConfigException(["Backend: the node has no public address to announce as next hop"]);
        string node = NodeName;
        BgpSpeaker speaker = new(new BgpSpeakerOptions
        {
            Peers = config.PeerSettings(node, nodeAddress, restarting),
            NextHopIPv4 = publicIP,
            NextHopIPv6 = publicIPv6,
            Communities = config.Communities,
        }, new TcpBgpConnector(), log);
        foreach (IPNetwork subnet in new[] { lease.Subnets.IPv4, lease.Subnets.IPv6 }.OfType<IPNetwork>())
        {
            speaker.Announce(subnet);
            log.LogInformation("BGP: announcing {Subnet} via {NextHop} as AS{Asn} to {Peers}{Restart}", subnet,
                subnet.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? publicIP : publicIPv6,
                config.AsnOf(node), string.Join(", ", config.Peers), restarting ? " (restarting: R bit set)" : "");
        }
        speaker.PeerStateChanged += status => log.LogInformation("BGP: peer {Address} AS{Asn} {State}", status.Address, status.Asn, status.State);
        speaker.Start();
        return new TorAnnouncer(speaker, log);
    }

    /// <summary>Cease to every peer: the ToR withdraws this node's routes at once.</summary>
    public async Task StopAsync()
    {
        if (_speaker is not null)
        {
            await _speaker.StopAsync().ConfigureAwait(false);
            _log.LogInformation("BGP: sessions closed; routes withdrawn");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_speaker is not null)
        {
            await _speaker.DisposeAsync().ConfigureAwait(false);
        }
    }
}
