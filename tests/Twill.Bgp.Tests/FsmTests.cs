using System.Net;
using Twill.Bgp.Session;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Tests;

/// <summary>The FSM is pure: events in, actions out, time passed in; the "transport" is the action list.</summary>
public class FsmTests
{
    private static readonly IPAddress Node = IPAddress.Parse("198.51.100.11");
    private static readonly IPAddress Tor = IPAddress.Parse("198.51.100.1");

    private static BgpPeerSettings Settings(Func<BgpPeerSettings, BgpPeerSettings>? change = null)
    {
        BgpPeerSettings s = new() { LocalAsn = 64512, RouterId = Node, PeerAddress = Tor, PeerAsn = 65000, HoldTime = 90 };
        return change is null ? s : change(s);
    }

    private static OpenMessage PeerOpen(ushort hold = 9, uint asn = 65000, IPAddress? id = null, bool gr = true, bool multiprotocol = true) => new()
    {
        Asn = asn,
        HoldTime = hold,
        BgpIdentifier = id ?? Tor,
        Capabilities =
        [
            .. multiprotocol ? new Capability[] { new MultiprotocolCapability(BgpFamily.IPv4Unicast) } : [],
            new FourOctetAsCapability(asn),
            .. gr ? new Capability[] { new GracefulRestartCapability(false, false, 120, [new GracefulRestartFamily(BgpFamily.IPv4Unicast, true)]) } : [],
            new UnknownCapability(73, [1, 2]),
        ],
    };

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    /// <summary>Drives a fresh FSM to Established on connection 1 at t=0; returns it.</summary>
    private static BgpFsm Established(BgpPeerSettings? settings = null, OpenMessage? peer = null)
    {
        BgpFsm fsm = new(settings ?? Settings(), () => 0);
        fsm.Start(S(0));
        fsm.Connected(S(0), 1);
        fsm.Received(S(0), 1, peer ?? PeerOpen());
        Assert.Contains(fsm.Received(S(0), 1, KeepaliveMessage.Instance), a => a is EstablishedAction);
        return fsm;
    }

    [Fact]
    public void Start_Connects_ThenSendsOpenWithEveryCapability()
    {
        BgpFsm fsm = new(Settings(), () => 0);
        Assert.Equal(BgpState.Idle, fsm.State);
        Assert.Equal([new ConnectAction(1)], fsm.Start(S(0)));
        Assert.Equal(BgpState.Connect, fsm.State);

        OpenMessage open = Assert.IsType<OpenMessage>(Assert.Single(fsm.Connected(S(0), 1).OfType<SendAction>()).Message);
        Assert.Equal(BgpState.OpenSent, fsm.State);
        Assert.Equal(64512u, open.Asn);
        Assert.Equal((ushort)90, open.HoldTime);
        Assert.True(open.Supports(BgpFamily.IPv4Unicast) && open.Supports(BgpFamily.IPv6Unicast));
        Assert.True(open.RouteRefresh && open.FourOctetAs);
        GracefulRestartCapability gr = open.GracefulRestart!;
        Assert.False(gr.RestartState);
        Assert.Equal((ushort)120, gr.RestartTime);
        Assert.All(gr.Families, f => Assert.True(f.ForwardingStatePreserved));
        Assert.Equal(S(240), fsm.NextDeadline); // the 4-minute hold timer while waiting for the OPEN
    }

    [Fact]
    public void PeerOpen_NegotiatesTheSmallerHoldTime_AndKeepalivesAtAThird()
    {
        BgpFsm fsm = new(Settings(), () => 0);
        fsm.Start(S(0));
        fsm.Connected(S(0), 1);
        IReadOnlyList<BgpAction> actions = fsm.Received(S(1), 1, PeerOpen(hold: 9));
        Assert.IsType<KeepaliveMessage>(Assert.Single(actions.OfType<SendAction>()).Message);
        Assert.Equal(BgpState.OpenConfirm, fsm.State);
        Assert.Equal(S(4), fsm.NextDeadline);

        EstablishedAction established = Assert.Single(fsm.Received(S(2), 1, KeepaliveMessage.Instance).OfType<EstablishedAction>());
        Assert.Equal(BgpState.Established, fsm.State);
        Assert.Equal((ushort)9, established.Session.HoldTime);
        Assert.Equal([BgpFamily.IPv4Unicast], established.Session.Families);
        Assert.True(established.Session.FourOctetAs);
        Assert.NotNull(established.Session.PeerGracefulRestart);

        Assert.Empty(fsm.Tick(S(3.9)).OfType<SendAction>());
        Assert.IsType<KeepaliveMessage>(Assert.Single(fsm.Tick(S(4)).OfType<SendAction>()).Message);
        Assert.Equal(S(7), fsm.NextDeadline);
    }

    [Fact]
    public void HoldTimer_Expires_SendsNotificationAndGoesDownKeepingRoutesWithGracefulRestart()
    {
        BgpFsm fsm = Established();
        fsm.Received(S(5), 1, KeepaliveMessage.Instance); // hold restarts at 5 s: expires at 14 s
        Assert.DoesNotContain(fsm.Tick(S(13.9)), a => a is CloseAction);
        IReadOnlyList<BgpAction> actions = fsm.Tick(S(14));
        NotificationMessage n = Assert.IsType<NotificationMessage>(Assert.Single(actions.OfType<SendAction>()).Message);
        Assert.Equal(BgpErrorCode.HoldTimerExpired, n.Code);
        Assert.Contains(new CloseAction(1), actions);
        Assert.True(Assert.Single(actions.OfType<SessionDownAction>()).PeerKeepsRoutes);
        Assert.Equal(BgpState.Active, fsm.State);
        Assert.Equal(S(14.75), fsm.NextDeadline); // first retry: 1 s × jitter 0.75
    }

    [Fact]
    public void HoldTimeZero_MeansNoKeepalivesAndNoHoldTimer()
    {
        BgpFsm fsm = Established(peer: PeerOpen(hold: 0));
        Assert.Null(fsm.NextDeadline);
        Assert.Equal((ushort)0, fsm.Session!.HoldTime);
    }

    [Fact]
    public void ConnectFailures_BackOffExponentiallyWithJitter_UpToTheCap()
    {
        double jitter = 0;
        BgpFsm fsm = new(Settings(), () => jitter);
        fsm.Start(S(0));
        TimeSpan now = S(0);
        double[] expected = [0.75, 1.5, 3, 6, 12, 22.5, 22.5, 22.5]; // ×0.75 of 1, 2, 4 … capped at 30
        int id = 1;
        foreach (double delay in expected)
        {
            IReadOnlyList<BgpAction> failed = fsm.ConnectFailed(now, id, "Connection refused");
            Assert.Contains(failed, a => a is LogAction l && l.Message.Contains("Connection refused", StringComparison.Ordinal));
            Assert.Equal(now + S(delay), fsm.NextDeadline);
            Assert.Empty(fsm.Tick(now + S(delay) - S(0.01)).OfType<ConnectAction>());
            now += S(delay);
            id = Assert.Single(fsm.Tick(now).OfType<ConnectAction>()).ConnectionId;
        }
        jitter = 0.999;
        Assert.InRange(fsm.RetryDelay(1).TotalSeconds, 0.99, 1.0);
    }

    [Fact]
    public void Established_ResetsTheBackOff()
    {
        BgpFsm fsm = new(Settings(), () => 0);
        fsm.Start(S(0));
        fsm.ConnectFailed(S(0), 1, "refused");
        fsm.ConnectFailed(S(1), Assert.Single(fsm.Tick(S(1)).OfType<ConnectAction>()).ConnectionId, "refused");
        int id = Assert.Single(fsm.Tick(S(10)).OfType<ConnectAction>()).ConnectionId;
        fsm.Connected(S(10), id);
        fsm.Received(S(10), id, PeerOpen());
        fsm.Received(S(10), id, KeepaliveMessage.Instance);
        fsm.Closed(S(20), id, "reset by peer");
        Assert.Equal(S(20.75), fsm.NextDeadline);
    }

    [Fact]
    public void WrongPeerAs_IsAnOpenErrorAndAReconnect()
    {
        BgpFsm fsm = new(Settings(), () => 0);
        fsm.Start(S(0));
        fsm.Connected(S(0), 1);
        IReadOnlyList<BgpAction> actions = fsm.Received(S(0), 1, PeerOpen(asn: 65099));
        NotificationMessage n = Assert.IsType<NotificationMessage>(Assert.Single(actions.OfType<SendAction>()).Message);
        Assert.Equal(BgpError.BadPeerAs, n.Error);
        Assert.Contains(new CloseAction(1), actions);
        Assert.Contains(actions, a => a is LogAction l && l.Message.Contains("AS65099", StringComparison.Ordinal));
        Assert.Equal(BgpState.Active, fsm.State);
    }

    [Fact]
    public void PeerWithoutMultiprotocol_GetsIpv4UnicastOnly()
    {
        BgpFsm fsm = Established(peer: PeerOpen(multiprotocol: false));
        Assert.Equal([BgpFamily.IPv4Unicast], fsm.Session!.Families);
    }

    [Fact]
    public void Established_PassesUpdatesAndRouteRefreshes_AndRestartsTheHoldTimer()
    {
        BgpFsm fsm = Established();
        UpdateMessage update = new() { WithdrawnRoutes = [IPNetwork.Parse("10.244.9.0/24")] };
        Assert.Equal([new UpdateReceivedAction(update)], fsm.Received(S(8), 1, update));
        Assert.Equal([new RouteRefreshRequestedAction(BgpFamily.IPv4Unicast)], fsm.Received(S(8), 1, new RouteRefreshMessage(BgpFamily.IPv4Unicast)));
        Assert.Empty(fsm.Received(S(8), 1, new RouteRefreshMessage(BgpFamily.IPv6Unicast))); // not negotiated
        Assert.DoesNotContain(fsm.Tick(S(16)), a => a is CloseAction); // hold restarted at 8 s by the UPDATE
    }

    [Fact]
    public void PeerNotification_EndsTheSessionWithoutGracefulRestart()
    {
        BgpFsm fsm = Established();
        IReadOnlyList<BgpAction> actions = fsm.Received(S(1), 1, new NotificationMessage(BgpError.AdministrativeReset));
        SessionDownAction down = Assert.Single(actions.OfType<SessionDownAction>());
        Assert.False(down.PeerKeepsRoutes);
        Assert.Contains("administrative reset", down.Reason, StringComparison.Ordinal);
        Assert.Empty(actions.OfType<SendAction>()); // never answer a NOTIFICATION with one
    }

    [Fact]
    public void ConnectionLost_WhileEstablished_KeepsRoutesWhenThePeerDoesGracefulRestart()
    {
        Assert.True(Assert.Single(Established().Closed(S(1), 1, "EOF").OfType<SessionDownAction>()).PeerKeepsRoutes);
        Assert.False(Assert.Single(Established(peer: PeerOpen(gr: false)).Closed(S(1), 1, "EOF").OfType<SessionDownAction>()).PeerKeepsRoutes);
    }

    [Fact]
    public void UnexpectedMessage_IsAnFsmError()
    {
        BgpFsm fsm = new(Settings(), () => 0);
        fsm.Start(S(0));
        fsm.Connected(S(0), 1);
        NotificationMessage n = Assert.IsType<NotificationMessage>(Assert.Single(fsm.Received(S(0), 1, new UpdateMessage()).OfType<SendAction>()).Message);
        Assert.Equal(BgpErrorCode.FiniteStateMachine, n.Code);
    }

    [Fact]
    public void ProtocolError_SendsTheDecodersNotification()
    {
        BgpFsm fsm = Established();
        IReadOnlyList<BgpAction> actions = fsm.ProtocolError(S(1), 1, new BgpProtocolException(BgpError.InvalidNetworkField, "bad NLRI"));
        NotificationMessage n = Assert.IsType<NotificationMessage>(Assert.Single(actions.OfType<SendAction>()).Message);
        Assert.Equal(BgpError.InvalidNetworkField, n.Error);
        Assert.False(Assert.Single(actions.OfType<SessionDownAction>()).PeerKeepsRoutes);
    }

    [Fact]
    public void Stop_SendsCeaseAdministrativeShutdown_AndStaysIdle()
    {
        BgpFsm fsm = Established();
        IReadOnlyList<BgpAction> actions = fsm.Stop(S(1));
        NotificationMessage n = Assert.IsType<NotificationMessage>(Assert.Single(actions.OfType<SendAction>()).Message);
        Assert.Equal(BgpError.AdministrativeShutdown, n.Error);
        Assert.IsType<CloseAction>(actions[actions.ToList().FindIndex(a => a is SendAction) + 1]);
        Assert.False(Assert.Single(actions.OfType<SessionDownAction>()).PeerKeepsRoutes);
        Assert.Equal(BgpState.Idle, fsm.State);
        Assert.Null(fsm.NextDeadline);
    }

    [Fact]
    public void Restarting_SetsTheRBitInTheFirstOpenOnly()
    {
        BgpFsm fsm = Established(Settings(s => s with { Restarting = true }));
        fsm.Closed(S(1), 1, "EOF");
        int id = Assert.Single(fsm.Tick(S(5)).OfType<ConnectAction>()).ConnectionId;
        OpenMessage second = Assert.IsType<OpenMessage>(Assert.Single(fsm.Connected(S(5), id).OfType<SendAction>()).Message);
        Assert.False(second.GracefulRestart!.RestartState);
        Assert.True(new BgpFsm(Settings(s => s with { Restarting = true })).LocalOpen().GracefulRestart!.RestartState);
        Assert.Null(new BgpFsm(Settings(s => s with { GracefulRestart = false })).LocalOpen().GracefulRestart);
    }

    [Theory]
    [InlineData("198.51.100.11", "198.51.100.1", true)]   // our ID is higher: keep the connection we opened
    [InlineData("198.51.100.11", "198.51.100.200", false)] // peer's ID is higher: keep the one it opened
    public void Collision_KeepsTheConnectionOpenedByTheHigherIdentifier(string local, string remote, bool keepOutgoing)
    {
        BgpFsm fsm = new(Settings(s => s with { RouterId = IPAddress.Parse(local) }), () => 0);
        fsm.Start(S(0));
        fsm.Connected(S(0), 1);
        fsm.Received(S(0), 1, PeerOpen(id: IPAddress.Parse(remote)));
        Assert.Equal(BgpState.OpenConfirm, fsm.State);
        (int incoming, IReadOnlyList<BgpAction> accepted) = fsm.Accepted(S(0));
        Assert.Equal(2, incoming);
        Assert.IsType<OpenMessage>(Assert.Single(accepted.OfType<SendAction>()).Message);

        IReadOnlyList<BgpAction> actions = fsm.Received(S(0), incoming, PeerOpen(id: IPAddress.Parse(remote)));
        int loser = keepOutgoing ? incoming : 1;
        NotificationMessage n = Assert.IsType<NotificationMessage>(actions.OfType<SendAction>().Single(s => s.ConnectionId == loser).Message);
        Assert.Equal(BgpError.ConnectionCollisionResolution, n.Error);
        Assert.Contains(new CloseAction(loser), actions);
        int winner = keepOutgoing ? 1 : incoming;
        Assert.Equal(BgpState.OpenConfirm, fsm.State);
        Assert.Single(fsm.Received(S(0), winner, KeepaliveMessage.Instance).OfType<EstablishedAction>());
        Assert.Equal(winner, fsm.EstablishedConnection);
    }

    [Fact]
    public void OurConnectCompletingAfterTheIncomingSessionCameUp_IsClosedWithoutAnOpen()
    {
        BgpFsm fsm = new(Settings(), () => 0);
        Assert.Equal([new ConnectAction(1)], fsm.Start(S(0)));
        (int incoming, _) = fsm.Accepted(S(0));
        fsm.Received(S(0), incoming, PeerOpen());
        IReadOnlyList<BgpAction> established = fsm.Received(S(0), incoming, KeepaliveMessage.Instance);
        Assert.Single(established.OfType<EstablishedAction>());
        Assert.Contains(new CloseAction(1), established); // the driver cancels the connect still in flight
        Assert.DoesNotContain(established, a => a is SendAction { ConnectionId: 1 });
        Assert.False(fsm.HasConnection(1));
        Assert.Empty(fsm.Connected(S(1), 1).OfType<SendAction>());
        Assert.Equal(incoming, fsm.EstablishedConnection);
    }

    [Fact]
    public void Established_ClosesTheOtherConnectionInOpenSent()
    {
        BgpFsm fsm = new(Settings(), () => 0);
        fsm.Start(S(0));
        fsm.Connected(S(0), 1);
        (int incoming, _) = fsm.Accepted(S(0));
        fsm.Received(S(0), incoming, PeerOpen());
        IReadOnlyList<BgpAction> actions = fsm.Received(S(0), incoming, KeepaliveMessage.Instance);
        Assert.Single(actions.OfType<EstablishedAction>());
        Assert.Equal(BgpErrorCode.Cease, Assert.IsType<NotificationMessage>(actions.OfType<SendAction>().Single(a => a.ConnectionId == 1).Message).Code);
        Assert.Contains(new CloseAction(1), actions);
    }

    [Fact]
    public void Accepted_WhileEstablished_IsRefused()
    {
        BgpFsm fsm = Established();
        Assert.Equal(0, fsm.Accepted(S(1)).ConnectionId);
    }

    [Fact]
    public void Abort_ClosesEverythingWithoutANotification()
    {
        BgpFsm fsm = Established();
        IReadOnlyList<BgpAction> actions = fsm.Abort();
        Assert.Equal([new CloseAction(1)], actions);
        Assert.Equal(BgpState.Idle, fsm.State);
    }
}
