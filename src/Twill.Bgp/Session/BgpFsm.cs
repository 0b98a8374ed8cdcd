using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Logging;
using Twill.Bgp.Wire;

// Over 400 lines for one idea: RFC 4271 §8's state machine, its transitions kept together so they read against the RFC.
namespace Twill.Bgp.Session;

/// <summary>
/// The RFC 4271 finite state machine of one peer, for a speaker that connects actively and may also
/// accept the peer's connection (collision detection, §6.8). Pure: no sockets, no clock. The driver
/// feeds it events with the current monotonic time and carries out the <see cref="BgpAction"/>s it
/// returns; <see cref="NextDeadline"/> says when to call <see cref="Tick"/>.
/// </summary>
public sealed class BgpFsm
{
    /// <summary>RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN ("a large value, 4 minutes").</summary>
    public static readonly TimeSpan OpenHoldTime = TimeSpan.FromMinutes(4);

    private readonly BgpPeerSettings _settings;
    private readonly Func<double> _random;
    private readonly List<Connection> _connections = [];
    private readonly List<BgpAction> _actions = [];
    private int _nextConnectionId = 1;
    private bool _started;
    private bool _establishedOnce;
    private int _failures;
    private TimeSpan? _retryAt;

    /// <param name="random">Uniform in [0, 1) for the reconnect jitter; tests pass a fixed one.</param>
    public BgpFsm(BgpPeerSettings settings, Func<double>? random = null)
    {
        _settings = settings;
        _random = random ?? Random.Shared.NextDouble;
    }

    public BgpPeerSettings Settings => _settings;

    /// <summary>The most advanced state of any connection, else Connect / Active / Idle.</summary>
    public BgpState State =>
        _connections.Count > 0 ? _connections.Max(c => c.State) : _started ? BgpState.Active : BgpState.Idle;

    /// <summary>The agreed parameters while Established.</summary>
    public NegotiatedSession? Session => _connections.FirstOrDefault(c => c.State == BgpState.Established)?.Negotiated;

    /// <summary>The connection that is Established, or 0.</summary>
    public int EstablishedConnection => _connections.FirstOrDefault(c => c.State == BgpState.Established)?.Id ?? 0;

    /// <summary>Whether <paramref name="connectionId"/> is still one of the FSM's (a connect that completes for a closed one must be dropped).</summary>
    public bool HasConnection(int connectionId) => Find(connectionId) is not null;

    /// <summary>When <see cref="Tick"/> must run next (a hold, keepalive or reconnect timer), or null.</summary>
    public TimeSpan? NextDeadline
    {
        get
        {
            TimeSpan? next = _retryAt;
            foreach (Connection c in _connections)
            {
                next = Min(next, c.HoldDeadline);
                next = Min(next, c.KeepaliveDeadline);
            }
            return next;
        }
    }

    /// <summary>The OPEN this speaker sends.</summary>
    public OpenMessage LocalOpen()
    {
        List<Capability> capabilities = [.. _settings.Families.Select(f => new MultiprotocolCapability(f)), new RouteRefreshCapability(), new FourOctetAsCapability(_settings.LocalAsn)];
        if (_settings.GracefulRestart)
        {
            // F is always set: a node's forwarding state (its pods) outlives the agent. R only in the first OPEN after a restart.
            capabilities.Add(new GracefulRestartCapability(
                RestartState: _settings.Restarting && !_establishedOnce,
                Notification: false,
                RestartTime: Math.Min(_settings.RestartTime, GracefulRestartCapability.MaxRestartTime),
                [.. _settings.Families.Select(f => new GracefulRestartFamily(f, ForwardingStatePreserved: true))]));
        }
        return new OpenMessage { Asn = _settings.LocalAsn, HoldTime = _settings.HoldTime, BgpIdentifier = _settings.RouterId, Capabilities = capabilities };
    }

    /// <summary>ManualStart: connect now.</summary>
    public IReadOnlyList<BgpAction> Start(TimeSpan now)
    {
        if (!_started)
        {
            _started = true;
            _failures = 0;
            StartConnect();
        }
        return Drain();
    }

    /// <summary>ManualStop: a Cease NOTIFICATION on every open connection, then Idle.</summary>
    public IReadOnlyList<BgpAction> Stop(TimeSpan now, NotificationMessage? notification = null)
    {
        _started = false;
        _retryAt = null;
        notification ??= NotificationMessage.AdministrativeShutdown("twill agent stopping");
        foreach (Connection c in _connections.ToArray())
        {
            Drop(c, notification, $"stopped ({notification.Describe()})", peerKeepsRoutes: false);
        }
        return Drain();
    }

    /// <summary>The outgoing connect of <paramref name="connectionId"/> succeeded: send our OPEN.</summary>
    public IReadOnlyList<BgpAction> Connected(TimeSpan now, int connectionId)
    {
        if (Find(connectionId) is Connection c && c.State == BgpState.Connect)
        {
            if (_connections.Any(o => o.State == BgpState.Established))
            {
                // RFC 4271 §6.8: a collision with an Established session closes the new connection. Sending an
                // OPEN on it would be worse than useless: a graceful-restart peer takes a new OPEN while
                // Established for our restart and drops the working session (RFC 4724 §4.2).
                _connections.Remove(c);
                _actions.Add(new CloseAction(c.Id));
                Log(LogLevel.Debug, $"BGP peer {_settings}: our connect completed after the session came up on the peer's connection; closed it");
            }
            else
            {
                SendOpen(c, now);
            }
        }
        return Drain();
    }

    /// <summary>The outgoing connect failed (refused, unreachable, timed out: <paramref name="reason"/> says which).</summary>
    public IReadOnlyList<BgpAction> ConnectFailed(TimeSpan now, int connectionId, string reason)
    {
        if (Find(connectionId) is Connection c)
        {
            _connections.Remove(c);
            Log(LogLevel.Warning, $"BGP peer {_settings}: connect failed: {reason}");
            ScheduleRetry(now);
        }
        return Drain();
    }

    /// <summary>
    /// The peer connected to our listener. Returns the id the driver uses for it, or 0 when refused
    /// (already Established or not started: the driver closes the socket).
    /// </summary>
    public (int ConnectionId, IReadOnlyList<BgpAction> Actions) Accepted(TimeSpan now)
    {
        if (!_started || _connections.Any(c => c.State == BgpState.Established) || _connections.Any(c => !c.Outgoing))
        {
            Log(LogLevel.Information, $"BGP peer {_settings}: incoming connection refused (state {State})");
            return (0, Drain());
        }
        Connection incoming = new(_nextConnectionId++, Outgoing: false) { State = BgpState.Connect };
        _connections.Add(incoming);
        _retryAt = null;
        SendOpen(incoming, now);
        return (incoming.Id, Drain());
    }

    /// <summary>A message arrived on <paramref name="connectionId"/>.</summary>
    public IReadOnlyList<BgpAction> Received(TimeSpan now, int connectionId, BgpMessage message)
    {
        if (Find(connectionId) is not Connection c)
        {
            return Drain();
        }
        switch (c.State, message)
        {
            case (_, NotificationMessage n):
                Drop(c, null, $"peer sent NOTIFICATION: {n.Describe()}", peerKeepsRoutes: false);
                ScheduleRetry(now);
                break;
            case (BgpState.OpenSent, OpenMessage open):
                ReceivedOpen(now, c, open);
                break;
            case (BgpState.OpenConfirm, KeepaliveMessage):
                c.State = BgpState.Established;
                c.HoldDeadline = HoldDeadline(now, c.Negotiated!.HoldTime);
                _establishedOnce = true;
                _failures = 0;
                _retryAt = null;
                Log(LogLevel.Information, $"BGP peer {_settings}: Established (hold time {c.Negotiated.HoldTime} s, families {string.Join(", ", c.Negotiated.Families)}, " +
                    $"graceful restart {(!_settings.GracefulRestart ? "off" : c.Negotiated.PeerGracefulRestart is null ? "not offered by the peer" : "negotiated")})");
                _actions.Add(new EstablishedAction(c.Id, c.Negotiated));
                foreach (Connection other in _connections.Where(o => o != c).ToArray())
                {
                    Drop(other, new NotificationMessage(BgpError.ConnectionCollisionResolution), "connection collision: the session is up on another connection", peerKeepsRoutes: false, quiet: true);
                }
                break;
            case (BgpState.Established, KeepaliveMessage):
                c.HoldDeadline = HoldDeadline(now, c.Negotiated!.HoldTime);
                break;
            case (BgpState.Established, UpdateMessage update):
                c.HoldDeadline = HoldDeadline(now, c.Negotiated!.HoldTime);
                _actions.Add(new UpdateReceivedAction(update));
                break;
            case (BgpState.Established, RouteRefreshMessage refresh):
                if (c.Negotiated!.Families.Contains(refresh.Family))
                {
                    _actions.Add(new RouteRefreshRequestedAction(refresh.Family));
                }
                break;
            case (BgpState.OpenConfirm or BgpState.Established, RouteRefreshMessage):
                break;
            default:
                Drop(c, new NotificationMessage(BgpError.FiniteStateMachine), $"unexpected {message.Type} in {c.State}", peerKeepsRoutes: false);
                ScheduleRetry(now);
                break;
        }
        return Drain();
    }

    /// <summary>What arrived on <paramref name="connectionId"/> broke the protocol: send its NOTIFICATION and close.</summary>
    public IReadOnlyList<BgpAction> ProtocolError(TimeSpan now, int connectionId, BgpProtocolException error)
    {
        if (Find(connectionId) is Connection c)
        {
            Drop(c, error.ToNotification(), $"protocol error: {error.Message}", peerKeepsRoutes: false);
            ScheduleRetry(now);
        }
        return Drain();
    }

    /// <summary>The connection closed under us (EOF, reset).</summary>
    public IReadOnlyList<BgpAction> Closed(TimeSpan now, int connectionId, string reason)
    {
        if (Find(connectionId) is Connection c)
        {
            Drop(c, null, $"connection closed: {reason}", peerKeepsRoutes: c.Negotiated?.PeerGracefulRestart is not null);
            ScheduleRetry(now);
        }
        return Drain();
    }

    /// <summary>
    /// The driver is about to close every socket without a word, as a crash would (tests of graceful
    /// restart): no NOTIFICATION, Idle.
    /// </summary>
    public IReadOnlyList<BgpAction> Abort()
    {
        _started = false;
        _retryAt = null;
        foreach (Connection c in _connections.ToArray())
        {
            _connections.Remove(c);
            _actions.Add(new CloseAction(c.Id));
        }
        return Drain();
    }

    /// <summary>Call at <see cref="NextDeadline"/>: hold timer expiry, keepalives, reconnects.</summary>
    public IReadOnlyList<BgpAction> Tick(TimeSpan now)
    {
        foreach (Connection c in _connections.ToArray())
        {
            if (c.HoldDeadline is TimeSpan hold && now >= hold)
            {
                Drop(c, new NotificationMessage(BgpError.HoldTimerExpired), "hold timer expired", peerKeepsRoutes: c.Negotiated?.PeerGracefulRestart is not null);
                ScheduleRetry(now);
                continue;
            }
            if (c.KeepaliveDeadline is TimeSpan keepalive && now >= keepalive)
            {
                _actions.Add(new SendAction(c.Id, KeepaliveMessage.Instance));
                c.KeepaliveDeadline = now + c.Negotiated!.KeepaliveInterval;
            }
        }
        if (_retryAt is TimeSpan retry && now >= retry)
        {
            _retryAt = null;
            if (_started && _connections.Count == 0)
            {
                StartConnect();
            }
        }
        return Drain();
    }

    /// <summary>The delay before reconnect attempt number <paramref name="failures"/> (1-based): doubling from the minimum, capped, times a jitter in [0.75, 1) (RFC 4271 §10).</summary>
    public TimeSpan RetryDelay(int failures)
    {
        double seconds = _settings.ConnectRetryMin.TotalSeconds * Math.Pow(2, Math.Min(failures - 1, 16));
        seconds = Math.Min(seconds, _settings.ConnectRetryMax.TotalSeconds);
        return TimeSpan.FromSeconds(seconds * (0.75 + (0.25 * _random())));
    }

    private void ReceivedOpen(TimeSpan now, Connection c, OpenMessage open)
    {
        if (_settings.PeerAsn != 0 && open.Asn != _settings.PeerAsn)
        {
            Drop(c, new NotificationMessage(BgpError.BadPeerAs, AsData(open)), $"peer says AS{open.Asn}, configured AS{_settings.PeerAsn}", peerKeepsRoutes: false);
            ScheduleRetry(now);
            return;
        }
        if (open.BgpIdentifier.Equals(_settings.RouterId) && !_settings.IsExternal)
        {
            Drop(c, new NotificationMessage(BgpError.BadBgpIdentifier), $"peer uses our own router ID {open.BgpIdentifier}", peerKeepsRoutes: false);
            ScheduleRetry(now);
            return;
        }
        // Collision detection (RFC 4271 §6.8) against the other connection, if it knows the peer's identifier.
        if (_connections.FirstOrDefault(o => o != c && o.State is BgpState.OpenConfirm or BgpState.Established) is Connection other)
        {
            NotificationMessage collision = new(BgpError.ConnectionCollisionResolution);
            bool keepNew = other.State != BgpState.Established
                && (Id(_settings.RouterId) < Id(open.BgpIdentifier) ? !c.Outgoing : c.Outgoing);
            if (!keepNew)
            {
                Drop(c, collision, "connection collision: keeping the other connection", peerKeepsRoutes: false, quiet: true);
                return;
            }
            Drop(other, collision, "connection collision: keeping the other connection", peerKeepsRoutes: false, quiet: true);
        }
        OpenMessage local = c.LocalOpen!;
        bool peerMultiprotocol = open.HasMultiprotocol;
        IReadOnlyList<BgpFamily> families = [.. _settings.Families.Where(f => peerMultiprotocol ? open.Supports(f) : f == BgpFamily.IPv4Unicast)];
        ushort hold = Math.Min(local.HoldTime, open.HoldTime);
        c.Negotiated = new NegotiatedSession(local, open, hold, families, open.FourOctetAs, open.RouteRefresh,
            _settings.GracefulRestart ? open.GracefulRestart : null);
        foreach (UnknownCapability unknown in open.Capabilities.OfType<UnknownCapability>())
        {
            Log(LogLevel.Debug, $"BGP peer {_settings}: ignoring capability {unknown.Code} ({unknown.Value.Length} octets)");
        }
        c.State = BgpState.OpenConfirm;
        _actions.Add(new SendAction(c.Id, KeepaliveMessage.Instance));
        c.HoldDeadline = HoldDeadline(now, hold);
        c.KeepaliveDeadline = hold == 0 ? null : now + c.Negotiated.KeepaliveInterval;
    }

    private void StartConnect()
    {
        Connection c = new(_nextConnectionId++, Outgoing: true) { State = BgpState.Connect };
        _connections.Add(c);
        _actions.Add(new ConnectAction(c.Id));
    }

    private void SendOpen(Connection c, TimeSpan now)
    {
        c.LocalOpen = LocalOpen();
        c.State = BgpState.OpenSent;
        c.HoldDeadline = now + OpenHoldTime;
        _actions.Add(new SendAction(c.Id, c.LocalOpen));
    }

    private void Drop(Connection c, NotificationMessage? notification, string reason, bool peerKeepsRoutes, bool quiet = false)
    {
        _connections.Remove(c);
        if (notification is not null && c.State >= BgpState.OpenSent)
        {
            _actions.Add(new SendAction(c.Id, notification));
        }
        _actions.Add(new CloseAction(c.Id));
        if (c.State == BgpState.Established)
        {
            Log(LogLevel.Warning, $"BGP peer {_settings}: session down: {reason}");
            _actions.Add(new SessionDownAction(reason, peerKeepsRoutes, c.Negotiated!));
        }
        else if (!quiet)
        {
            Log(LogLevel.Warning, $"BGP peer {_settings}: {reason} (in {c.State})");
        }
    }

    private void ScheduleRetry(TimeSpan now)
    {
        if (!_started || _connections.Count > 0 || _retryAt is not null)
        {
            return;
        }
        _failures++;
        TimeSpan delay = RetryDelay(_failures);
        _retryAt = now + delay;
        Log(LogLevel.Information, $"BGP peer {_settings}: reconnecting in {delay.TotalSeconds:0.0} s (attempt {_failures + 1})");
    }

    private static TimeSpan? HoldDeadline(TimeSpan now, ushort hold) => hold == 0 ? null : now + TimeSpan.FromSeconds(hold);

    private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    private static uint Id(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    private static byte[] AsData(OpenMessage open) => [(byte)(open.WireAs >> 8), (byte)open.WireAs];

    private Connection? Find(int id) => _connections.Find(c => c.Id == id);

    private void Log(LogLevel level, string message) => _actions.Add(new LogAction(level, message));

    private IReadOnlyList<BgpAction> Drain()
    {
        BgpAction[] actions = [.. _actions];
        _actions.Clear();
        return actions;
    }

    private sealed record Connection(int Id, bool Outgoing)
    {
        public BgpState State { get; set; }

        public OpenMessage? LocalOpen { get; set; }

        public NegotiatedSession? Negotiated { get; set; }

        public TimeSpan? HoldDeadline { get; set; }

        public TimeSpan? KeepaliveDeadline { get; set; }
    }
}
