using System.Net;
using System.Threading.Channels;
using Twill.Bgp.Session;
using Twill.Bgp.Speaker;
using Twill.Bgp.Wire;
using Xunit.Abstractions;

namespace Twill.Bgp.Tests;

/// <summary>The session driver and the speaker over an in-memory connection, the test playing the ToR (no root, no sockets).</summary>
public class SessionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static BgpPeerSettings Peer(ushort hold = 90) => new()
    {
        LocalAsn = 64512,
        RouterId = IPAddress.Parse("198.51.100.11"),
        PeerAddress = IPAddress.Parse("198.51.100.1"),
        PeerAsn = 65000,
        HoldTime = hold,
    };

    [Fact]
    public async Task Speaker_OverMemory_AnnouncesThenEndOfRib_ImportsAndStopsWithCease()
    {
        MemoryConnector connector = new();
        await using BgpSpeaker speaker = new(new BgpSpeakerOptions
        {
            Peers = [Peer()],
            NextHopIPv4 = IPAddress.Parse("198.51.100.11"),
            NextHopIPv6 = IPAddress.Parse("2001:db8:1::11"),
            Import = new ImportFilter { ClusterNetworks = [IPNetwork.Parse("10.244.0.0/16")] },
        }, connector, new ListLogger(output));
        speaker.Announce(IPNetwork.Parse("10.244.11.0/24"));
        speaker.Announce(IPNetwork.Parse("fd00:10:244:11::/64"));
        speaker.Start();
        FakePeer tor = await FakePeer.Accept(connector);

        OpenMessage open = Assert.IsType<OpenMessage>(await tor.Read());
        Assert.Equal(64512u, open.Asn);
        await tor.Send(new OpenMessage
        {
            Asn = 65000, HoldTime = 90, BgpIdentifier = IPAddress.Parse("198.51.100.1"),
            Capabilities = [new MultiprotocolCapability(BgpFamily.IPv4Unicast), new MultiprotocolCapability(BgpFamily.IPv6Unicast), new FourOctetAsCapability(65000)],
        });
        await tor.Send(KeepaliveMessage.Instance);
        Assert.IsType<KeepaliveMessage>(await tor.Read());

        // The initial UPDATEs, then End-of-RIB for each family (RFC 4724 §4.1).
        UpdateMessage v4 = Assert.IsType<UpdateMessage>(await tor.Read());
        Assert.Equal([IPNetwork.Parse("10.244.11.0/24")], v4.Nlri);
        Assert.Equal(IPAddress.Parse("198.51.100.11"), v4.Get<NextHopAttribute>()!.NextHop);
        Assert.Equal([64512u], v4.Get<AsPathAttribute>()!.AllAsns);
        MpReachNlriAttribute v6 = Assert.IsType<UpdateMessage>(await tor.Read()).Get<MpReachNlriAttribute>()!;
        Assert.Equal(IPAddress.Parse("2001:db8:1::11"), v6.NextHop);
        Assert.True(Assert.IsType<UpdateMessage>(await tor.Read()).IsEndOfRib(out BgpFamily first));
        Assert.True(Assert.IsType<UpdateMessage>(await tor.Read()).IsEndOfRib(out BgpFamily second));
        Assert.Equal([BgpFamily.IPv4Unicast, BgpFamily.IPv6Unicast], new[] { first, second });

        await tor.Send(new UpdateMessage
        {
            Attributes = [OriginAttribute.Igp, AsPathAttribute.Sequence(65000, 64601), new NextHopAttribute(IPAddress.Parse("198.51.100.1"))],
            Nlri = [IPNetwork.Parse("10.244.12.0/24")],
        });
        TorLab.Eventually(() => speaker.ImportedRoutes.Count == 1, Patience, "route imported");

        speaker.Withdraw(IPNetwork.Parse("10.244.11.0/24"));
        Assert.Equal([IPNetwork.Parse("10.244.11.0/24")], Assert.IsType<UpdateMessage>(await tor.Read()).WithdrawnRoutes);

        await speaker.StopAsync();
        NotificationMessage cease = Assert.IsType<NotificationMessage>(await tor.Read());
        Assert.Equal(BgpError.AdministrativeShutdown, cease.Error);
        Assert.Null(await tor.ReadOrEnd());
    }

    [Fact]
    public async Task Session_PeerGoesSilent_HoldTimerExpiresAndItReconnects()
    {
        MemoryConnector connector = new();
        ListLogger log = new(output);
        await using BgpSpeaker speaker = new(new BgpSpeakerOptions { Peers = [Peer(hold: 3) with { ConnectRetryMin = TimeSpan.FromMilliseconds(200) }] }, connector, log);
        speaker.Start();
        FakePeer tor = await FakePeer.Accept(connector);
        await tor.Read();
        await tor.Send(new OpenMessage { Asn = 65000, HoldTime = 3, BgpIdentifier = IPAddress.Parse("198.51.100.1") });
        await tor.Send(KeepaliveMessage.Instance);
        // Keepalives from us every second (a third of 3 s); none from the peer, so the hold timer fires.
        NotificationMessage n;
        while (true)
        {
            BgpMessage m = await tor.Read();
            if (m is NotificationMessage notification)
            {
                n = notification;
                break;
            }
        }
        Assert.Equal(BgpErrorCode.HoldTimerExpired, n.Code);
        Assert.NotNull(log.WaitFor("hold timer expired", Patience));
        FakePeer again = await FakePeer.Accept(connector); // reconnected after the back-off
        Assert.IsType<OpenMessage>(await again.Read());
    }

    [Fact]
    public async Task Session_GarbageFromThePeer_IsAHeaderNotification()
    {
        MemoryConnector connector = new();
        await using BgpSpeaker speaker = new(new BgpSpeakerOptions { Peers = [Peer()] }, connector, new ListLogger(output));
        speaker.Start();
        FakePeer tor = await FakePeer.Accept(connector);
        await tor.Read();
        await tor.SendRaw(new byte[19]); // a zero marker
        NotificationMessage n = Assert.IsType<NotificationMessage>(await tor.Read());
        Assert.Equal(BgpError.ConnectionNotSynchronized, n.Error);
    }

    /// <summary>Hands each connect the speaker makes to the test as the ToR's end of an in-memory pipe.</summary>
    private sealed class MemoryConnector : IBgpConnector
    {
        private readonly Channel<MemoryConnection> _peers = Channel.CreateUnbounded<MemoryConnection>();

        public ValueTask<IBgpConnection> ConnectAsync(BgpPeerSettings peer, CancellationToken cancellationToken)
        {
            (MemoryConnection ours, MemoryConnection theirs) = MemoryConnection.Pair();
            _peers.Writer.TryWrite(theirs);
            return ValueTask.FromResult<IBgpConnection>(ours);
        }

        public async Task<MemoryConnection> Next() => await _peers.Reader.ReadAsync().AsTask().WaitAsync(Patience);
    }

    private sealed class MemoryConnection(Channel<byte[]> incoming, Channel<byte[]> outgoing) : IBgpConnection
    {
        private byte[] _pending = [];
        private int _offset;

        public static (MemoryConnection, MemoryConnection) Pair()
        {
            Channel<byte[]> a = Channel.CreateUnbounded<byte[]>(), b = Channel.CreateUnbounded<byte[]>();
            return (new MemoryConnection(a, b), new MemoryConnection(b, a));
        }

        public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            if (_offset >= _pending.Length)
            {
                if (!await incoming.Reader.WaitToReadAsync(cancellationToken) || !incoming.Reader.TryRead(out byte[]? next))
                {
                    return 0;
                }
                (_pending, _offset) = (next, 0);
            }
            int n = Math.Min(buffer.Length, _pending.Length - _offset);
            _pending.AsMemory(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            outgoing.Writer.TryWrite(data.ToArray());
            return ValueTask.CompletedTask;
        }

        public void Abort() => Dispose();

        public string Describe() => "memory";

        public void Dispose()
        {
            outgoing.Writer.TryComplete();
            incoming.Writer.TryComplete();
        }
    }

    private sealed class FakePeer(MemoryConnection connection)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _filled;

        public static async Task<FakePeer> Accept(MemoryConnector connector) => new(await connector.Next());

        public Task Send(BgpMessage message) => SendRaw(BgpCodec.Encode(message, BgpCodecOptions.Default));

        public async Task SendRaw(byte[] bytes) => await connection.WriteAsync(bytes, CancellationToken.None);

        public async Task<BgpMessage> Read() => await ReadOrEnd() ?? throw new IOException("the speaker closed the connection");

        public async Task<BgpMessage?> ReadOrEnd()
        {
            using CancellationTokenSource timeout = new(Patience);
            while (true)
            {
                int length = BgpCodec.FrameLength(_buffer.AsSpan(0, _filled));
                if (length > 0 && length <= _filled)
                {
                    BgpMessage m = BgpCodec.Decode(_buffer.AsSpan(0, length), BgpCodecOptions.Default);
                    Buffer.BlockCopy(_buffer, length, _buffer, 0, _filled - length);
                    _filled -= length;
                    return m;
                }
                int n = await connection.ReadAsync(_buffer.AsMemory(_filled), timeout.Token);
                if (n == 0)
                {
                    return null;
                }
                _filled += n;
            }
        }
    }
}
