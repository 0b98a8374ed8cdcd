using System.Net;
using Twill.Bgp.Session;
using Twill.Bgp.Speaker;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Tests;

/// <summary>The speaker's import side, fed UPDATEs as its sessions would (no sockets: the sessions are never started).</summary>
public class SpeakerTests
{
    private static readonly IPAddress Node = IPAddress.Parse("198.51.100.11");

    private static BgpPeerSettings Peer(string address) => new()
    {
        LocalAsn = 64512,
        RouterId = Node,
        PeerAddress = IPAddress.Parse(address),
        PeerAsn = 65000,
    };

    private static (BgpSpeaker Speaker, IBgpSessionHandler Handler, IReadOnlyList<BgpSession> Sessions) Make(int maxPrefixes = 1000, TimeProvider? time = null)
    {
        BgpSpeaker speaker = new(new BgpSpeakerOptions
        {
            Peers = [Peer("198.51.100.1"), Peer("198.51.100.2")],
            NextHopIPv4 = Node,
            Import = new ImportFilter { ClusterNetworks = [IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("fd00:10:244::/48")], MaxPrefixes = maxPrefixes },
        }, time: time);
        return (speaker, speaker, speaker.Sessions);
    }

    private static UpdateMessage Announce(string nextHop, uint[] path, params string[] prefixes) => new()
    {
        Attributes = [OriginAttribute.Igp, AsPathAttribute.Sequence(path), new NextHopAttribute(IPAddress.Parse(nextHop))],
        Nlri = [.. prefixes.Select(IPNetwork.Parse)],
    };

    private static NegotiatedSession Negotiated(bool peerGr)
    {
        OpenMessage open = new() { Asn = 65000, HoldTime = 9, BgpIdentifier = IPAddress.Parse("198.51.100.1") };
        return new NegotiatedSession(open, open, 9, [BgpFamily.IPv4Unicast], true, true,
            peerGr ? new GracefulRestartCapability(false, false, 120, [new GracefulRestartFamily(BgpFamily.IPv4Unicast, true)]) : null);
    }

    [Fact]
    public void Import_SamePrefixFromTwoPeers_IsOneEcmpRoute()
    {
        (BgpSpeaker speaker, IBgpSessionHandler h, IReadOnlyList<BgpSession> s) = Make();
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000, 64601], "10.244.5.0/24"));
        h.OnUpdate(s[1], Announce("198.51.100.2", [65001, 64601], "10.244.5.0/24", "10.244.6.0/24"));
        Assert.Equal(
            [
                new ImportedRoute(IPNetwork.Parse("10.244.5.0/24"), [IPAddress.Parse("198.51.100.1"), IPAddress.Parse("198.51.100.2")]),
                new ImportedRoute(IPNetwork.Parse("10.244.6.0/24"), [IPAddress.Parse("198.51.100.2")]),
            ],
            speaker.ImportedRoutes);
        Assert.True(speaker.ImportedRoutes[0].IsMultipath);

        h.OnUpdate(s[1], new UpdateMessage { WithdrawnRoutes = [IPNetwork.Parse("10.244.5.0/24")] });
        Assert.Equal([IPAddress.Parse("198.51.100.1")], speaker.ImportedRoutes[0].NextHops);
    }

    [Fact]
    public void Import_Filter_DropsOutsideOwnSubnetOwnAsnAndSelf()
    {
        (BgpSpeaker speaker, IBgpSessionHandler h, IReadOnlyList<BgpSession> s) = Make();
        speaker.Announce(IPNetwork.Parse("10.244.11.0/24"));
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "192.0.2.0/24", "10.244.11.0/24", "10.244.11.128/25", "10.0.0.0/8"));
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000, 64512, 64601], "10.244.7.0/24"));
        h.OnUpdate(s[0], Announce("198.51.100.11", [65000, 64601], "10.244.8.0/24"));
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000, 64601], "10.244.9.0/24"));
        Assert.Equal(["10.244.9.0/24"], speaker.ImportedRoutes.Select(r => r.Prefix.ToString()));
    }

    [Fact]
    public void Import_TreatAsWithdraw_RemovesTheRoute()
    {
        (BgpSpeaker speaker, IBgpSessionHandler h, IReadOnlyList<BgpSession> s) = Make();
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "10.244.9.0/24"));
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "10.244.9.0/24") with { Error = new UpdateError(UpdateErrorAction.TreatAsWithdraw, "test") });
        Assert.Empty(speaker.ImportedRoutes);
    }

    [Fact]
    public void Import_MpReachIpv6_IsImportedWithItsNextHop()
    {
        (BgpSpeaker speaker, IBgpSessionHandler h, IReadOnlyList<BgpSession> s) = Make();
        h.OnUpdate(s[0], new UpdateMessage
        {
            Attributes = [OriginAttribute.Igp, AsPathAttribute.Sequence(65000), new MpReachNlriAttribute(BgpFamily.IPv6Unicast, IPAddress.Parse("2001:db8:1::1"), IPAddress.Parse("fe80::1"), [IPNetwork.Parse("fd00:10:244:9::/64")])],
        });
        Assert.Equal([new ImportedRoute(IPNetwork.Parse("fd00:10:244:9::/64"), [IPAddress.Parse("2001:db8:1::1")])], speaker.ImportedRoutes);
        h.OnUpdate(s[0], new UpdateMessage { Attributes = [new MpUnreachNlriAttribute(BgpFamily.IPv6Unicast, [IPNetwork.Parse("fd00:10:244:9::/64")])] });
        Assert.Empty(speaker.ImportedRoutes);
    }

    [Fact]
    public void Import_MaximumPrefixes_DropsTheRestAndKeepsTheSession()
    {
        (BgpSpeaker speaker, IBgpSessionHandler h, IReadOnlyList<BgpSession> s) = Make(maxPrefixes: 2);
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"));
        Assert.Equal(2, speaker.ImportedRoutes.Count);
        Assert.Equal(2, speaker.Peers[0].AcceptedPrefixes);
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "10.244.1.0/24")); // a refresh of an accepted one still passes
        Assert.Equal(2, speaker.ImportedRoutes.Count);
    }

    [Fact]
    public void Import_GracefulRestartOfThePeer_KeepsItsRoutesUntilEndOfRib()
    {
        ManualTime time = new();
        (BgpSpeaker speaker, IBgpSessionHandler h, IReadOnlyList<BgpSession> s) = Make(time: time);
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "10.244.1.0/24", "10.244.2.0/24"));
        h.OnDown(s[0], new SessionDownAction("connection closed", PeerKeepsRoutes: true, Negotiated(peerGr: true)));
        Assert.Equal(2, speaker.ImportedRoutes.Count); // stale, still installed

        h.OnEstablished(s[0], Negotiated(peerGr: true));
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "10.244.2.0/24"));
        h.OnUpdate(s[0], UpdateMessage.EndOfRib(BgpFamily.IPv4Unicast));
        Assert.Equal(["10.244.2.0/24"], speaker.ImportedRoutes.Select(r => r.Prefix.ToString()));
    }

    [Fact]
    public void Import_GracefulRestartOfThePeer_StaleRoutesGoAfterItsRestartTime()
    {
        ManualTime time = new();
        (BgpSpeaker speaker, IBgpSessionHandler h, IReadOnlyList<BgpSession> s) = Make(time: time);
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "10.244.1.0/24"));
        h.OnDown(s[0], new SessionDownAction("connection closed", PeerKeepsRoutes: true, Negotiated(peerGr: true)));
        time.Advance(TimeSpan.FromSeconds(119));
        Assert.Single(speaker.ImportedRoutes);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(speaker.ImportedRoutes);
    }

    [Fact]
    public void Import_SessionDownWithoutGracefulRestart_DropsTheRoutesAtOnce()
    {
        (BgpSpeaker speaker, IBgpSessionHandler h, IReadOnlyList<BgpSession> s) = Make();
        List<int> counts = [];
        speaker.ImportedRoutesChanged += r => counts.Add(r.Count);
        h.OnUpdate(s[0], Announce("198.51.100.1", [65000], "10.244.1.0/24"));
        h.OnDown(s[0], new SessionDownAction("NOTIFICATION", PeerKeepsRoutes: false, Negotiated(peerGr: true)));
        Assert.Empty(speaker.ImportedRoutes);
        Assert.Equal([1, 0], counts);
    }

    /// <summary>A TimeProvider whose timers fire only when the test advances it.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly List<ManualTimer> _timers = [];
        private TimeSpan _now;

        public override long GetTimestamp() => _now.Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public void Advance(TimeSpan by)
        {
            _now += by;
            foreach (ManualTimer t in _timers.ToArray())
            {
                if (t.Due is TimeSpan due && due <= _now)
                {
                    t.Due = null;
                    t.Callback(t.State);
                }
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ManualTimer timer = new(this, callback, state) { Due = _now + dueTime };
            _timers.Add(timer);
            return timer;
        }

        private sealed class ManualTimer(ManualTime owner, TimerCallback callback, object? state) : ITimer
        {
            public TimerCallback Callback => callback;

            public object? State => state;

            public TimeSpan? Due { get; set; }

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                Due = owner._now + dueTime;
                return true;
            }

            public void Dispose() => owner._timers.Remove(this);

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
