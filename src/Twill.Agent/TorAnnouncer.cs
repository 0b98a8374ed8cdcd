using System.Net;
using Microsoft.Extensions.Logging;
using Twill.Bgp.Config;
using Twill.Bgp.Session;
using Twill.Bgp.Speaker;
using Twill.Core;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// The bgp backend's control plane: in mode "bgp" a <see cref="BgpSpeaker"/> announces this node's
/// subnet(s) to the configured ToR peers with the node's public IP as next hop, and (ImportRoutes)
/// hands the routes the peers announce, filtered, to the data path; in mode "static" it does nothing
/// (the operator programs the switch from <c>twill tor routes</c>). A clean stop sends a Cease, so the
/// ToR withdraws at once; a crash leaves the routes to graceful restart, and the next run sets the
/// Restart State bit (<see cref="BgpRestartMarker"/>).
/// </summary>
internal sealed class TorAnnouncer : IAsyncDisposable
{
    private readonly BgpSpeaker? _speaker;
    private readonly BgpRestartMarker _marker;
    private readonly ILogger _log;
    private bool _stopped;

    private TorAnnouncer(BgpSpeaker? speaker, BgpRestartMarker marker, ILogger log)
    {
        _speaker = speaker;
        _marker = marker;
        _log = log;
    }

    /// <summary>The node name <c>Backend.NodeASNs</c> is keyed by: <c>NODE_NAME</c>, else the host name.</summary>
    public static string NodeName => Environment.GetEnvironmentVariable("NODE_NAME") is { Length: > 0 } name ? name : Environment.MachineName;

    /// <summary>The learnt routes that passed the import filter (empty unless ImportRoutes).</summary>
    public IReadOnlyList<ImportedRoute> ImportedRoutes => _speaker?.ImportedRoutes ?? [];

    /// <summary>
    /// Reads the section (a <see cref="BgpConfigException"/> names the field) and, in mode bgp, starts
    /// the sessions announcing <paramref name="lease"/>'s subnets. <paramref name="importedChanged"/>
    /// is called (on a session's loop) whenever <see cref="ImportedRoutes"/> changed. <paramref name="readiness"/>
    /// is not ready while no session is established: then no ToR routes to this node's pods.
    /// </summary>
    public static TorAnnouncer Start(BgpBackendConfig config, NetworkConfig network, Lease lease, IPAddress? publicIP, IPAddress? publicIPv6,
        string stateDir, ILogger log, Action? importedChanged = null, Readiness? readiness = null)
    {
        BgpRestartMarker marker = new(stateDir);
        if (config.Mode == TorMode.Static)
        {
            log.LogInformation("Backend bgp in static mode: nothing announced, no peer routes; the ToR's routes come from 'twill tor routes'");
            return new TorAnnouncer(null, marker, log);
        }
        IPAddress nodeAddress = publicIP ?? publicIPv6 ?? throw new BgpConfigException(["Backend: the node has no public address to announce as next hop"]);
        string node = NodeName;
        bool restarting = config.GracefulRestart && marker.PreviousRunCrashed;
        IReadOnlyList<IPNetwork> own = [.. new[] { lease.Subnets.IPv4, lease.Subnets.IPv6 }.OfType<IPNetwork>()];
        BgpSpeaker speaker = new(new BgpSpeakerOptions
        {
            Peers = config.PeerSettings(node, nodeAddress, restarting),
            NextHopIPv4 = publicIP,
            NextHopIPv6 = publicIPv6,
            Communities = config.Communities,
            Import = config.ImportRoutes
                ? new ImportFilter
                {
                    ClusterNetworks = [.. new[] { network.Network, network.IPv6Network }.OfType<IPNetwork>()],
                    OwnSubnets = own,
                    MaxPrefixes = config.MaxPrefixes,
                }
                : null,
        }, new TcpBgpConnector(), log);
        foreach (IPNetwork subnet in own)
        {
            speaker.Announce(subnet);
        }
        log.LogInformation("BGP: announcing {Subnets} as AS{Asn} to {Peers}; graceful restart {GracefulRestart}{Restart}; import {Import}",
            string.Join(", ", own), config.AsnOf(node), string.Join(", ", config.Peers),
            config.GracefulRestart ? $"on ({config.RestartTime} s)" : "off",
            restarting ? "; the previous run did not stop cleanly: R bit set" : "",
            config.ImportRoutes ? "on" : "off");
        readiness?.SetRouting(RoutingProblem(speaker.Peers));
        speaker.PeerStateChanged += status =>
        {
            log.LogInformation("BGP: peer {Address} AS{Asn} {State}", status.Address, status.Asn, status.State);
            readiness?.SetRouting(RoutingProblem(speaker.Peers));
        };
        if (importedChanged is not null)
        {
            speaker.ImportedRoutesChanged += _ => importedChanged();
        }
        marker.Set();
        speaker.Start();
        return new TorAnnouncer(speaker, marker, log);
    }

    /// <summary>Null when a peer has the announcement (a session is established), else the sessions' states.</summary>
    internal static string? RoutingProblem(IReadOnlyList<BgpPeerStatus> peers) =>
        peers.Count == 0 || peers.Any(p => p.State == BgpState.Established)
            ? null
            : "bgp: no ToR session established (" + string.Join(", ", peers.Select(p => $"{p.Address} AS{p.Asn} {p.State}")) + "): this node's subnet is not announced";

    /// <summary>Cease to every peer: the ToR withdraws this node's routes at once; the next run starts without the R bit.</summary>
    public async Task StopAsync()
    {
        if (_speaker is not null)
        {
            _stopped = true;
            await _speaker.StopAsync().ConfigureAwait(false);
            _marker.Clear();
            _log.LogInformation("BGP: sessions closed with a Cease; the ToR withdraws our routes");
        }
    }

    /// <summary>Disposing without <see cref="StopAsync"/> (the agent failed) still sends the Cease: a failing agent's routes go.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_speaker is not null && !_stopped)
        {
            await StopAsync().ConfigureAwait(false);
        }
        if (_speaker is not null)
        {
            await _speaker.DisposeAsync().ConfigureAwait(false);
        }
    }
}
