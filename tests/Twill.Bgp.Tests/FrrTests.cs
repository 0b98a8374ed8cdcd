using Xunit.Abstractions;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Twill.Bgp.Session;
using Twill.Bgp.Speaker;
using Twill.Bgp.Wire;
using Twill.Testing;

namespace Twill.Bgp.Tests;

/// <summary>
/// Our speaker in a node namespace against a real FRR (zebra + bgpd) in a ToR namespace; the ToR's
/// kernel table (`ip -n tor route`) is the oracle.
/// </summary>
[Trait("Needs", "frr")]
public class FrrTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private const string Pod4 = "10.244.11.0/24";
    private const string Pod6 = "fd00:10:244:11::/64";

    private static BgpPeerSettings Peer(Func<BgpPeerSettings, BgpPeerSettings>? change = null)
    {
        BgpPeerSettings s = new()
        {
            LocalAsn = TorLab.NodeAsn,
            RouterId = TorLab.NodeAddress,
            PeerAddress = TorLab.TorAddress,
            PeerAsn = TorLab.TorAsn,
            HoldTime = 9,
            ConnectTimeout = TimeSpan.FromSeconds(3),
            ConnectRetryMin = TimeSpan.FromMilliseconds(500),
            ConnectRetryMax = TimeSpan.FromSeconds(2),
        };
        return change is null ? s : change(s);
    }

    private static BgpSpeaker Speaker(TorLab lab, ListLogger log, BgpPeerSettings peer, ImportFilter? import = null) =>
        new(new BgpSpeakerOptions
        {
            Peers = [peer],
            NextHopIPv4 = TorLab.NodeAddress,
            NextHopIPv6 = TorLab.NodeAddress6,
            Communities = [(64512u << 16) | 100],
            Import = import,
        }, new TcpBgpConnector(lab.NodeSocket), log);

    private static void WaitEstablished(BgpSpeaker speaker) =>
        TorLab.Eventually(() => speaker.Peers[0].State == BgpState.Established, Patience, "session Established");

    [FrrFact]
    public async Task Speaker_AnnouncesWithdrawsAndStops_TheTorKernelFollows()
    {
        using TorLab lab = new();
        lab.StartFrr();
        ListLogger log = new(output);
        await using BgpSpeaker speaker = Speaker(lab, log, Peer());
        speaker.Announce(IPNetwork.Parse(Pod4));
        speaker.Start();
        WaitEstablished(speaker);
        speaker.Announce(IPNetwork.Parse(Pod6));

        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, $"{Pod4} via {TorLab.NodeAddress} proto bgp in the ToR");
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod6, TorLab.NodeAddress6), Patience, $"{Pod6} via {TorLab.NodeAddress6} proto bgp in the ToR");
        string detail = lab.Vtysh($"show bgp ipv4 unicast {Pod4}");
        output.WriteLine(detail);
        Assert.Contains("64512:100", detail, StringComparison.Ordinal);
        Assert.Contains("64512", lab.Vtysh("show bgp summary"), StringComparison.Ordinal);

        speaker.Withdraw(IPNetwork.Parse(Pod4));
        TorLab.Eventually(() => lab.TorRoutes(Pod4).GetArrayLength() == 0, Patience, $"{Pod4} withdrawn from the ToR");
        Assert.True(lab.TorHasBgpRoute(Pod6, TorLab.NodeAddress6));

        speaker.Announce(IPNetwork.Parse(Pod4));
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, $"{Pod4} announced again");

        Stopwatch clock = Stopwatch.StartNew();
        await speaker.StopAsync();
        TimeSpan gone = TorLab.Eventually(() => lab.TorRoutes(Pod4).GetArrayLength() == 0 && lab.TorRoutes(Pod6).GetArrayLength() == 0, Patience, "routes withdrawn after a clean stop");
        output.WriteLine($"clean stop: routes gone {clock.Elapsed.TotalMilliseconds:0} ms after StopAsync began");
        // Graceful restart is negotiated (120 s), yet the Cease makes FRR drop the routes at once.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"routes took {clock.Elapsed} to go after a clean stop");
        Assert.Matches("(?i)administrative shutdown|cease", lab.Vtysh("show bgp neighbors 198.51.100.11"));
    }

    [FrrFact]
    public async Task GracefulRestart_Crash_KeepsTheRouteUntilTheRestartTime_AndARestartedSpeakerTakesItOver()
    {
        using TorLab lab = new();
        lab.StartFrr();
        ListLogger log = new(output);

        // 1. Crash, then a restarted speaker comes back within the restart time: the route never leaves the ToR.
        BgpSpeaker first = Speaker(lab, log, Peer(p => p with { RestartTime = 60 }));
        first.Announce(IPNetwork.Parse(Pod4));
        first.Start();
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, "route in the ToR");
        await first.AbortAsync();
        TorLab.Eventually(() => lab.Vtysh("show bgp summary").Contains("Active", StringComparison.Ordinal) || lab.Vtysh("show bgp summary").Contains("Connect", StringComparison.Ordinal) || lab.Vtysh("show bgp summary").Contains("Idle", StringComparison.Ordinal),
            Patience, "FRR sees the session gone");
        output.WriteLine(lab.Vtysh($"show bgp ipv4 unicast {Pod4}"));
        Assert.True(lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), "the ToR dropped the route although graceful restart was negotiated");
        Assert.Contains("stale", lab.Vtysh($"show bgp ipv4 unicast {Pod4}"), StringComparison.OrdinalIgnoreCase);

        await using (BgpSpeaker second = Speaker(lab, log, Peer(p => p with { RestartTime = 60, Restarting = true })))
        {
            second.Announce(IPNetwork.Parse(Pod4));
            second.Start();
            WaitEstablished(second);
            TorLab.Eventually(() => !lab.Vtysh($"show bgp ipv4 unicast {Pod4}").Contains("stale", StringComparison.OrdinalIgnoreCase), Patience,
                "the route refreshed (no longer stale) after our End-of-RIB");
            Assert.True(lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress));

            // 2. A crash with nobody coming back: the route goes when the restart time ends, not before.
            await second.StopAsync();
        }
        TorLab.Eventually(() => lab.TorRoutes(Pod4).GetArrayLength() == 0, Patience, "clean stop withdrew");

        BgpSpeaker third = Speaker(lab, log, Peer(p => p with { RestartTime = 8 }));
        third.Announce(IPNetwork.Parse(Pod4));
        third.Start();
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, "route in the ToR");
        await third.AbortAsync();
        Stopwatch clock = Stopwatch.StartNew();
        Thread.Sleep(3000);
        Assert.True(lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), "the route went before the 8 s restart time");
        TorLab.Eventually(() => lab.TorRoutes(Pod4).GetArrayLength() == 0, Patience, "stale route dropped at the end of the restart time");
        output.WriteLine($"stale route dropped {clock.Elapsed.TotalSeconds:0.0} s after the crash (restart time 8 s)");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(7), $"dropped after {clock.Elapsed}, before the restart time");
    }

    [FrrFact]
    public async Task WithoutGracefulRestart_Crash_DropsTheRouteAtOnce()
    {
        using TorLab lab = new();
        lab.StartFrr();
        BgpSpeaker speaker = Speaker(lab, new ListLogger(output), Peer(p => p with { GracefulRestart = false }));
        speaker.Announce(IPNetwork.Parse(Pod4));
        speaker.Start();
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, "route in the ToR");
        await speaker.AbortAsync();
        TimeSpan gone = TorLab.Eventually(() => lab.TorRoutes(Pod4).GetArrayLength() == 0, Patience, "route dropped after the crash");
        Assert.True(gone < TimeSpan.FromSeconds(10), $"took {gone}");
    }

    [FrrFact]
    public async Task Md5_RightKeyEstablishes_WrongKeyIsLoggedWithinTheConnectTimeout()
    {
        using TorLab lab = new();
        lab.StartFrr(password: "twill-md5-key");

        ListLogger wrongLog = new(output);
        await using (BgpSpeaker wrong = Speaker(lab, wrongLog, Peer(p => p with { Md5Password = "not-the-key" })))
        {
            Stopwatch clock = Stopwatch.StartNew();
            wrong.Start();
            string? line = wrongLog.WaitFor("check the MD5 password", TimeSpan.FromSeconds(3 + 10));
            Assert.NotNull(line);
            output.WriteLine($"after {clock.Elapsed.TotalSeconds:0.0} s: {line}");
            Assert.NotEqual(BgpState.Established, wrong.Peers[0].State);
            await wrong.StopAsync();
        }

        ListLogger noKeyLog = new(output);
        await using (BgpSpeaker none = Speaker(lab, noKeyLog, Peer()))
        {
            none.Start();
            Assert.NotNull(noKeyLog.WaitFor("TCP-MD5", TimeSpan.FromSeconds(13)));
            await none.StopAsync();
        }

        await using BgpSpeaker right = Speaker(lab, new ListLogger(output), Peer(p => p with { Md5Password = "twill-md5-key" }));
        right.Announce(IPNetwork.Parse(Pod4));
        right.Start();
        WaitEstablished(right);
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, "route in the ToR over the MD5 session");
    }

    [FrrFact]
    public async Task Import_RouteTheTorOriginates_PassesTheFilter_OthersDoNot()
    {
        using TorLab lab = new();
        lab.StartFrr(originate: ["10.244.200.0/24", "192.0.2.0/24", "fd00:10:244:200::/64"]);
        ImportFilter filter = new() { ClusterNetworks = [IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("fd00:10:244::/48")] };
        await using BgpSpeaker speaker = Speaker(lab, new ListLogger(output), Peer(), filter);
        List<IReadOnlyList<ImportedRoute>> changes = [];
        speaker.ImportedRoutesChanged += routes => { lock (changes) { changes.Add(routes); } };
        speaker.Announce(IPNetwork.Parse(Pod4));
        speaker.Start();
        TorLab.Eventually(() => speaker.ImportedRoutes.Count == 2, Patience, "two imported routes");
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, "our route in the ToR");
        Thread.Sleep(1000); // let a reflected copy of our own prefix arrive, if FRR sends one
        IReadOnlyList<ImportedRoute> imported = speaker.ImportedRoutes;
        output.WriteLine(string.Join("; ", imported));
        Assert.Contains(new ImportedRoute(IPNetwork.Parse("10.244.200.0/24"), [TorLab.TorAddress]), imported);
        ImportedRoute six = Assert.Single(imported, r => r.Prefix == IPNetwork.Parse("fd00:10:244:200::/64"));
        Assert.DoesNotContain(imported, r => r.Prefix == IPNetwork.Parse("192.0.2.0/24"));
        Assert.DoesNotContain(imported, r => r.Prefix == IPNetwork.Parse(Pod4));
        Assert.NotEmpty(changes);
        output.WriteLine($"IPv6 next hop from FRR: {string.Join(", ", six.NextHops)}");
    }

    [FrrFact]
    public async Task Ipv6Transport_WithMd5_CarriesBothFamilies()
    {
        using TorLab lab = new();
        lab.StartFrr(password: "v6-key", neighbor: TorLab.NodeAddress6);
        ListLogger log = new(output);
        await using BgpSpeaker speaker = Speaker(lab, log, Peer(p => p with { PeerAddress = TorLab.TorAddress6, Md5Password = "v6-key" }));
        speaker.Announce(IPNetwork.Parse(Pod6));
        speaker.Announce(IPNetwork.Parse(Pod4));
        speaker.Start();
        WaitEstablished(speaker);
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod6, TorLab.NodeAddress6), Patience, $"{Pod6} via {TorLab.NodeAddress6} in the ToR over an IPv6 session");
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, $"{Pod4} via {TorLab.NodeAddress} in the ToR over an IPv6 session");
        Assert.Contains(log.Lines, l => l.Contains("[2001:db8:1::1]:179", StringComparison.Ordinal));
    }

    [FrrFact]
    public async Task BothSidesConnect_CollisionDetectionKeepsOneSession()
    {
        using TorLab lab = new();
        lab.StartFrr(passive: false);
        ListLogger log = new(output);
        // Our connect is held back 3 s so the ToR's own connect (retry 1 s) arrives first: the FSM must
        // take the incoming one, and then settle the collision when ours completes.
        await using BgpSpeaker speaker = new(new BgpSpeakerOptions { Peers = [Peer()], NextHopIPv4 = TorLab.NodeAddress },
            new SlowConnector(new TcpBgpConnector(lab.NodeSocket), TimeSpan.FromSeconds(3)), log);
        Socket listener = lab.NodeSocket(AddressFamily.InterNetwork);
        listener.Bind(new IPEndPoint(TorLab.NodeAddress, 179));
        listener.Listen();
        speaker.Listen(listener);
        speaker.Announce(IPNetwork.Parse(Pod4));
        speaker.Start();
        WaitEstablished(speaker);
        TorLab.Eventually(() => lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress), Patience, "route in the ToR");
        // Stable: a few hold times later still one Established session, and the route never left.
        for (int i = 0; i < 20; i++)
        {
            Thread.Sleep(500);
            Assert.Equal(BgpState.Established, speaker.Peers[0].State);
            Assert.True(lab.TorHasBgpRoute(Pod4, TorLab.NodeAddress));
        }
        string summary = lab.Vtysh("show bgp summary");
        output.WriteLine(summary);
        Assert.DoesNotContain(log.Lines, l => l.Contains("session down", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("accepted", StringComparison.Ordinal));
        // Our own connect, still held back when the session came up, was cancelled: a new TCP connection
        // from an Established graceful-restart peer makes FRR take it for a restart and drop the session.
        Assert.DoesNotContain(log.Lines, l => l.Contains(": connected ", StringComparison.Ordinal));
    }

    private sealed class SlowConnector(IBgpConnector inner, TimeSpan delay) : IBgpConnector
    {
        public async ValueTask<IBgpConnection> ConnectAsync(BgpPeerSettings peer, CancellationToken cancellationToken)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.ConnectAsync(peer, cancellationToken);
        }
    }

    [RootFact]
    public async Task MalformedAttributeFromTheTor_IsTreatAsWithdraw_AndTheSessionStays()
    {
        using TorLab lab = new();
        using FakeTor tor = new(lab);
        ListLogger log = new(output);
        ImportFilter filter = new() { ClusterNetworks = [IPNetwork.Parse("10.244.0.0/16")] };
        await using BgpSpeaker speaker = Speaker(lab, log, Peer(), filter);
        speaker.Start();
        tor.Handshake();
        WaitEstablished(speaker);

        string good = "40010100" + "4002060201" + "0000fde8" + "400304c6336401";
        string badOrigin = "4001020000" + "4002060201" + "0000fde8" + "400304c6336401";
        tor.SendRaw(Hex.Message(2, "0000" + (badOrigin.Length / 2).ToString("x4") + badOrigin + "180af432"));   // 10.244.50.0/24, malformed ORIGIN
        tor.SendRaw(Hex.Message(2, "0000" + (good.Length / 2).ToString("x4") + good + "180af433"));             // 10.244.51.0/24, fine
        TorLab.Eventually(() => speaker.ImportedRoutes.Any(r => r.Prefix == IPNetwork.Parse("10.244.51.0/24")), Patience, "the good route imported");
        Assert.DoesNotContain(speaker.ImportedRoutes, r => r.Prefix == IPNetwork.Parse("10.244.50.0/24"));
        Assert.NotNull(log.WaitFor("ORIGIN of length 2", TimeSpan.FromSeconds(5)));

        // A malformed re-announcement of 51 withdraws it (treat-as-withdraw), a good one of 50 adds it.
        string badCommunities = good + "c00803fc0000";
        tor.SendRaw(Hex.Message(2, "0000" + (badCommunities.Length / 2).ToString("x4") + badCommunities + "180af433"));
        tor.SendRaw(Hex.Message(2, "0000" + (good.Length / 2).ToString("x4") + good + "180af432"));
        TorLab.Eventually(() => speaker.ImportedRoutes.Select(r => r.Prefix.ToString()).SequenceEqual(["10.244.50.0/24"]), Patience, "51 withdrawn, 50 imported");

        // Several keepalive rounds later the session is still up and we never sent a NOTIFICATION.
        Thread.Sleep(4000);
        tor.SendRaw(BgpCodec.Encode(KeepaliveMessage.Instance, BgpCodecOptions.Default));
        Assert.Equal(BgpState.Established, speaker.Peers[0].State);
        Assert.DoesNotContain(tor.Received(), m => m is NotificationMessage);
    }

    /// <summary>A minimal ToR of our own in the ToR namespace, to send what FRR never would.</summary>
    private sealed class FakeTor : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<BgpMessage> _received = [];
        private Socket? _peer;
        private Thread? _reader;
        private Timer? _keepalive;

        public FakeTor(TorLab lab)
        {
            _listener = lab.TorSocket(AddressFamily.InterNetwork);
            _listener.Bind(new IPEndPoint(TorLab.TorAddress, 179));
            _listener.Listen();
        }

        /// <summary>Accepts the speaker, reads its OPEN, answers OPEN + KEEPALIVE, then reads in the background.</summary>
        public void Handshake()
        {
            _listener.ReceiveTimeout = 30_000;
            Task<Socket> accept = _listener.AcceptAsync();
            if (!accept.Wait(TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException("the speaker did not connect to the fake ToR");
            }
            _peer = accept.Result;
            _peer.ReceiveTimeout = 30_000;
            Assert.IsType<OpenMessage>(Read());
            Send(new OpenMessage
            {
                Asn = TorLab.TorAsn,
                HoldTime = 9,
                BgpIdentifier = TorLab.TorAddress,
                Capabilities = [new MultiprotocolCapability(BgpFamily.IPv4Unicast), new FourOctetAsCapability(TorLab.TorAsn), new UnknownCapability(73, [3, 116, 111, 114, 0])],
            });
            Send(KeepaliveMessage.Instance);
            Assert.IsType<KeepaliveMessage>(Read());
            _reader = new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        BgpMessage m = Read();
                        lock (_received)
                        {
                            _received.Add(m);
                        }
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
                {
                }
            }) { IsBackground = true };
            _reader.Start();
            _keepalive = new Timer(_ =>
            {
                try
                {
                    Send(KeepaliveMessage.Instance);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }, null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        }

        public IReadOnlyList<BgpMessage> Received()
        {
            lock (_received)
            {
                return [.. _received];
            }
        }

        public void Send(BgpMessage message) => SendRaw(BgpCodec.Encode(message, BgpCodecOptions.Default));

        public void SendRaw(byte[] bytes)
        {
            lock (_listener)
            {
                _peer!.Send(bytes);
            }
        }

        private BgpMessage Read()
        {
            byte[] header = ReadExactly(19);
            int length = BgpCodec.FrameLength(header);
            return BgpCodec.Decode([.. header, .. ReadExactly(length - 19)], BgpCodecOptions.Default);
        }

        private byte[] ReadExactly(int count)
        {
            byte[] buffer = new byte[count];
            int at = 0;
            while (at < count)
            {
                int n = _peer!.Receive(buffer, at, count - at, SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("speaker closed the connection");
                }
                at += n;
            }
            return buffer;
        }

        public void Dispose()
        {
            _keepalive?.Dispose();
            _peer?.Dispose();
            _listener.Dispose();
        }
    }
}
