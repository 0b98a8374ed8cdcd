using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Twill.Bgp.Session;
using Twill.Bgp.Wire;
using BgpAddressFamily = Twill.Bgp.Wire.BgpFamily;

namespace Twill.Bgp.Speaker;

/// <summary>
/// The node's BGP speaker: announces the node's prefixes to every peer (next hop = the node),
/// withdraws them, and optionally imports learnt routes through an <see cref="ImportFilter"/> into
/// a route set the agent turns into kernel routes. As a graceful-restart speaker it sends
/// End-of-RIB after the initial UPDATEs; a clean <see cref="StopAsync"/> sends a Cease, so peers
/// withdraw at once; a crash leaves the routes in the peers for the restart time.
/// (About 470 lines, on purpose: the announced set, every peer's Adj-RIB-In, the stale timers and the
/// session callbacks share one lock; split into types, that lock's invariants would span files.)
/// </summary>
public sealed class BgpSpeaker : IBgpSessionHandler, IAsyncDisposable
{
    private readonly BgpSpeakerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly List<BgpSession> _sessions = [];
    private readonly HashSet<IPNetwork> _announced = [];
    private readonly Dictionary<BgpSession, NegotiatedSession> _live = [];
    private readonly Dictionary<BgpSession, PeerRib> _ribs = [];
    private IReadOnlyList<ImportedRoute> _imported = [];
    private Socket? _listener;

    public BgpSpeaker(BgpSpeakerOptions options, IBgpConnector? connector = null, ILogger? logger = null, TimeProvider? time = null)
    {
        _options = options;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        connector ??= new TcpBgpConnector();
        foreach (BgpPeerSettings peer in options.Peers)
        {
            BgpSession session = new(peer, connector, this, _logger, _time);
            _sessions.Add(session);
            _ribs[session] = new PeerRib();
        }
    }

    /// <summary>Raised (on a session's loop) whenever <see cref="ImportedRoutes"/> changed.</summary>
    public event Action<IReadOnlyList<ImportedRoute>>? ImportedRoutesChanged;

    /// <summary>Raised when a session reaches Established or leaves it.</summary>
    public event Action<BgpPeerStatus>? PeerStateChanged;

    /// <summary>The learnt routes that passed the import filter, sorted by prefix; ECMP when one has several next hops.</summary>
    public IReadOnlyList<ImportedRoute> ImportedRoutes
    {
        get
        {
            lock (_lock)
            {
                return _imported;
            }
        }
    }

    public IReadOnlyList<IPNetwork> Announced
    {
        get
        {
            lock (_lock)
            {
                return [.. _announced];
            }
        }
    }

    public IReadOnlyList<BgpPeerStatus> Peers
    {
        get
        {
            lock (_lock)
            {
                return [.. _sessions.Select(Status)];
            }
        }
    }

    internal IReadOnlyList<BgpSession> Sessions => _sessions;

    /// <summary>Starts every session (each connects and keeps reconnecting with back-off).</summary>
    public void Start()
    {
        foreach (BgpSession session in _sessions)
        {
            session.Start();
        }
    }

    /// <summary>Announces <paramref name="prefix"/> (IPv4 or IPv6) to every Established peer, and to every peer that comes up later.</summary>
    public void Announce(IPNetwork prefix)
    {
        lock (_lock)
        {
            if (!_announced.Add(prefix))
            {
                return;
            }
            foreach ((BgpSession session, NegotiatedSession negotiated) in _live)
            {
                session.Send(AnnounceMessages(session.Settings, negotiated, [prefix]));
            }
        }
    }

    /// <summary>Withdraws <paramref name="prefix"/> from every peer.</summary>
    public void Withdraw(IPNetwork prefix)
    {
        lock (_lock)
        {
            if (!_announced.Remove(prefix))
            {
                return;
            }
            BgpAddressFamily family = BgpAddressFamily.Of(prefix.BaseAddress.AddressFamily);
            foreach ((BgpSession session, NegotiatedSession negotiated) in _live)
            {
                if (negotiated.Families.Contains(family))
                {
                    session.Send(UpdatePacker.Withdraw(family, [prefix]));
                }
            }
        }
    }

    /// <summary>
    /// Also accepts the peers' connections on <paramref name="listener"/> (bound and listening,
    /// e.g. on port 179 in the node's namespace; the speaker owns it from now on). TCP-MD5 keys of
    /// the peers are installed on it; a connection from an address that is not a peer is closed.
    /// When both sides connect at once, the FSM's collision detection (RFC 4271 §6.8) keeps one.
    /// </summary>
    public void Listen(Socket listener)
    {
        foreach (BgpPeerSettings peer in _options.Peers.Where(p => !string.IsNullOrEmpty(p.Md5Password)))
        {
            TcpMd5.Apply(listener, peer.PeerAddress, peer.Md5Password!);
        }
        _listener = listener;
        _ = AcceptLoop(listener);
    }

    private async Task AcceptLoop(Socket listener)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            IPAddress? from = (accepted.RemoteEndPoint as IPEndPoint)?.Address;
            if (from is not null && from.IsIPv4MappedToIPv6)
            {
                from = from.MapToIPv4();
            }
            BgpSession? session = _sessions.FirstOrDefault(s => s.Settings.PeerAddress.Equals(from));
            if (session is null)
            {
                _logger.LogWarning("BGP: closing a connection from {Address}, which is not a configured peer", from);
                accepted.Dispose();
                continue;
            }
            accepted.NoDelay = true;
            session.Accept(new SocketBgpConnection(accepted));
        }
    }

    /// <summary>A Cease to every peer (they withdraw our routes at once), then the sessions end.</summary>
    public async Task StopAsync()
    {
        _listener?.Dispose();
        await Task.WhenAll(_sessions.Select(s => s.StopAsync())).ConfigureAwait(false);
        lock (_lock)
        {
            _live.Clear();
        }
    }

    /// <summary>Drops every connection with a reset and no NOTIFICATION, as a crash would (graceful-restart tests).</summary>
    internal async Task AbortAsync()
    {
        _listener?.Dispose();
        await Task.WhenAll(_sessions.Select(s => s.AbortAsync())).ConfigureAwait(false);
        lock (_lock)
        {
            _live.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        foreach (BgpSession session in _sessions)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
        foreach (PeerRib rib in _ribs.Values)
        {
            rib.StaleTimer?.Dispose();
        }
    }

    void IBgpSessionHandler.OnEstablished(BgpSession session, NegotiatedSession negotiated)
    {
        lock (_lock)
        {
            _live[session] = negotiated;
            List<BgpMessage> messages = [.. AnnounceMessages(session.Settings, negotiated, _announced)];
            // RFC 4724 §4.1: End-of-RIB for every family once the initial UPDATEs are out.
            messages.AddRange(negotiated.Families.Select(UpdateMessage.EndOfRib));
            session.Send(messages);
            PeerRib rib = _ribs[session];
            if (rib.Routes.Values.Any(r => r.Stale))
            {
                _logger.LogInformation("BGP peer {Peer}: back; {Count} stale routes kept until its End-of-RIB", session.Settings, rib.Routes.Values.Count(r => r.Stale));
            }
        }
        PeerStateChanged?.Invoke(Status(session));
    }

    void IBgpSessionHandler.OnDown(BgpSession session, SessionDownAction down)
    {
        bool changed;
        lock (_lock)
        {
            _live.Remove(session);
            PeerRib rib = _ribs[session];
            if (down.PeerKeepsRoutes && down.Session.PeerGracefulRestart is GracefulRestartCapability gr && rib.Routes.Count > 0)
            {
                // RFC 4724 §4.2, receiving speaker: keep the peer's routes as stale for its restart time.
                foreach (LearntRoute route in rib.Routes.Values)
                {
                    route.Stale = true;
                }
                rib.StaleTimer?.Dispose();
                rib.StaleTimer = _time.CreateTimer(_ => PurgeStale(session, "the peer's restart time passed"), null, TimeSpan.FromSeconds(gr.RestartTime), Timeout.InfiniteTimeSpan);
                _logger.LogInformation("BGP peer {Peer}: keeping its {Count} routes for {Seconds} s (graceful restart)", session.Settings, rib.Routes.Count, gr.RestartTime);
                changed = false;
            }
            else
            {
                changed = rib.Routes.Count > 0;
                rib.Routes.Clear();
                rib.LimitWarned = false;
                if (changed)
                {
                    Recompute();
                }
            }
        }
        if (changed)
        {
            ImportedRoutesChanged?.Invoke(ImportedRoutes);
        }
        PeerStateChanged?.Invoke(Status(session));
    }

    void IBgpSessionHandler.OnRouteRefresh(BgpSession session, BgpAddressFamily family)
    {
        lock (_lock)
        {
            if (_live.TryGetValue(session, out NegotiatedSession? negotiated))
            {
                session.Send(AnnounceMessages(session.Settings, negotiated, _announced.Where(p => BgpAddressFamily.Of(p.BaseAddress.AddressFamily) == family)));
            }
        }
    }

    void IBgpSessionHandler.OnUpdate(BgpSession session, UpdateMessage update)
    {
        bool changed = false;
        lock (_lock)
        {
            PeerRib rib = _ribs[session];
            if (update.IsEndOfRib(out BgpAddressFamily eor))
            {
                changed = PurgeStaleLocked(rib, eor);
            }
            else
            {
                if (update.Error is UpdateError error)
                {
                    _logger.LogWarning("BGP peer {Peer}: malformed UPDATE handled as {Action} (RFC 7606): {Reason}; the session stays up",
                        session.Settings, error.Action == UpdateErrorAction.TreatAsWithdraw ? "withdraw" : "attribute discard", error.Reason);
                }
                bool withdrawAll = update.Error?.Action == UpdateErrorAction.TreatAsWithdraw;
                foreach (IPNetwork prefix in update.WithdrawnRoutes.Concat(update.Attributes.OfType<MpUnreachNlriAttribute>().SelectMany(u => u.Withdrawn)))
                {
                    changed |= rib.Routes.Remove(prefix);
                }
                AsPathAttribute? path = update.Get<AsPathAttribute>();
                if (update.Nlri.Count > 0)
                {
                    // A missing NEXT_HOP was already turned into treat-as-withdraw by the decoder.
                    changed |= Learn(session, rib, update.Nlri, path, update.Get<NextHopAttribute>()?.NextHop, withdrawAll);
                }
                foreach (MpReachNlriAttribute reach in update.Attributes.OfType<MpReachNlriAttribute>())
                {
                    changed |= Learn(session, rib, reach.Nlri, path, reach.NextHop, withdrawAll);
                }
            }
            if (changed)
            {
                Recompute();
            }
        }
        if (changed)
        {
            ImportedRoutesChanged?.Invoke(ImportedRoutes);
        }
    }

    private bool Learn(BgpSession session, PeerRib rib, IReadOnlyList<IPNetwork> prefixes, AsPathAttribute? path, IPAddress? nextHop, bool withdraw)
    {
        bool changed = false;
        foreach (IPNetwork prefix in prefixes)
        {
            if (withdraw || nextHop is null || _options.Import is not ImportFilter filter)
            {
                changed |= rib.Routes.Remove(prefix);
                continue;
            }
            string? reason = filter.Reject(prefix, path, nextHop, session.Settings.LocalAsn, _announced, LocalAddresses());
            if (reason is not null)
            {
                _logger.LogDebug("BGP peer {Peer}: not importing {Reason}", session.Settings, reason);
                changed |= rib.Routes.Remove(prefix);
                continue;
            }
            if (!rib.Routes.ContainsKey(prefix) && rib.Routes.Count >= filter.MaxPrefixes)
            {
                if (!rib.LimitWarned)
                {
                    rib.LimitWarned = true;
                    _logger.LogWarning("BGP peer {Peer}: maximum of {Max} imported prefixes reached; dropping {Prefix} and further ones (the session stays up)",
                        session.Settings, filter.MaxPrefixes, prefix);
                }
                continue;
            }
            if (rib.Routes.TryGetValue(prefix, out LearntRoute? existing) && existing.NextHop.Equals(nextHop))
            {
                changed |= existing.Stale;
                existing.Stale = false;
                continue;
            }
            rib.Routes[prefix] = new LearntRoute(nextHop);
            changed = true;
        }
        return changed;
    }

    private void PurgeStale(BgpSession session, string why)
    {
        bool changed;
        lock (_lock)
        {
            PeerRib rib = _ribs[session];
            int before = rib.Routes.Count;
            changed = PurgeStaleLocked(rib, null);
            if (changed)
            {
                _logger.LogInformation("BGP peer {Peer}: dropped {Count} stale routes: {Why}", session.Settings, before - rib.Routes.Count, why);
            }
        }
        if (changed)
        {
            ImportedRoutesChanged?.Invoke(ImportedRoutes);
        }
    }

    /// <summary>Drops stale routes (of one family, or all); recomputes the route set when any went.</summary>
    private bool PurgeStaleLocked(PeerRib rib, BgpAddressFamily? family)
    {
        IPNetwork[] stale = [.. rib.Routes.Where(r => r.Value.Stale && (family is null || BgpAddressFamily.Of(r.Key.BaseAddress.AddressFamily) == family)).Select(r => r.Key)];
        foreach (IPNetwork prefix in stale)
        {
            rib.Routes.Remove(prefix);
        }
        if (!rib.Routes.Values.Any(r => r.Stale))
        {
            rib.StaleTimer?.Dispose();
            rib.StaleTimer = null;
        }
        if (stale.Length > 0)
        {
            Recompute();
        }
        return stale.Length > 0;
    }

    /// <summary>Merges every peer's accepted routes into one set: a prefix with its distinct next hops (ECMP).</summary>
    private void Recompute()
    {
        SortedDictionary<IPNetwork, SortedSet<IPAddress>> merged = new(PrefixComparer.Instance);
        foreach (PeerRib rib in _ribs.Values)
        {
            foreach ((IPNetwork prefix, LearntRoute route) in rib.Routes)
            {
                if (!merged.TryGetValue(prefix, out SortedSet<IPAddress>? hops))
                {
                    merged[prefix] = hops = new SortedSet<IPAddress>(AddressComparer.Instance);
                }
                hops.Add(route.NextHop);
            }
        }
        _imported = [.. merged.Select(m => new ImportedRoute(m.Key, [.. m.Value]))];
    }

    private IEnumerable<IPAddress> LocalAddresses() =>
        new[] { _options.NextHopIPv4, _options.NextHopIPv6, _options.LinkLocalNextHopIPv6 }.OfType<IPAddress>();

    private IEnumerable<BgpMessage> AnnounceMessages(BgpPeerSettings peer, NegotiatedSession negotiated, IEnumerable<IPNetwork> prefixes)
    {
        AsPathAttribute path = peer.IsExternal ? AsPathAttribute.Sequence(peer.LocalAsn) : AsPathAttribute.Empty;
        List<PathAttribute> extra = peer.IsExternal ? [] : [new LocalPrefAttribute(100)];
        foreach (IGrouping<AddressFamily, IPNetwork> group in prefixes.GroupBy(p => p.BaseAddress.AddressFamily))
        {
            BgpAddressFamily family = BgpAddressFamily.Of(group.Key);
            if (!negotiated.Families.Contains(family))
            {
                continue;
            }
            IPAddress? nextHop = family == BgpAddressFamily.IPv4Unicast ? _options.NextHopIPv4 : _options.NextHopIPv6;
            if (nextHop is null)
            {
                _logger.LogError("BGP peer {Peer}: cannot announce {Prefixes}: no {Family} next hop configured", peer, string.Join(", ", group), family);
                continue;
            }
            IPAddress? linkLocal = family == BgpAddressFamily.IPv6Unicast ? _options.LinkLocalNextHopIPv6 : null;
            foreach (UpdateMessage update in UpdatePacker.Announce(family, [.. group.Order(PrefixComparer.Instance)], path, nextHop, linkLocal, _options.Communities, negotiated.CodecOptions, extra))
            {
                yield return update;
            }
        }
    }

    private BgpPeerStatus Status(BgpSession session)
    {
        lock (_lock)
        {
            return new BgpPeerStatus(session.Settings.PeerAddress, session.Settings.PeerAsn, session.State, _ribs[session].Routes.Count);
        }
    }

    private sealed class PeerRib
    {
        public Dictionary<IPNetwork, LearntRoute> Routes { get; } = [];

        public bool LimitWarned { get; set; }

        public ITimer? StaleTimer { get; set; }
    }

    private sealed class LearntRoute(IPAddress nextHop)
    {
        public IPAddress NextHop { get; } = nextHop;

        public bool Stale { get; set; }
    }
}
