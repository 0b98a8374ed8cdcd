using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Session;

/// <summary>
/// Runs one peer's <see cref="BgpFsm"/> against real connections: a single loop owns the FSM,
/// so every event (frames, connects, timers, sends from the speaker) is handled in order, and
/// timers are the FSM's deadlines on a monotonic clock.
/// </summary>
public sealed class BgpSession : IAsyncDisposable
{
    private readonly BgpFsm _fsm;
    private readonly IBgpConnector _connector;
    private readonly IBgpSessionHandler _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private readonly Channel<Event> _events = Channel.CreateUnbounded<Event>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<int, IBgpConnection> _connections = [];
    private readonly Dictionary<int, CancellationTokenSource> _pendingConnects = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private volatile BgpState _state;

    public BgpSession(BgpPeerSettings settings, IBgpConnector connector, IBgpSessionHandler handler, ILogger logger,
        TimeProvider? time = null, Func<double>? random = null)
    {
        _fsm = new BgpFsm(settings, random);
        _connector = connector;
        _handler = handler;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _epoch = _time.GetTimestamp();
    }

    public BgpPeerSettings Settings => _fsm.Settings;

    /// <summary>The FSM state as of the last event handled.</summary>
    public BgpState State => _state;

    /// <summary>Starts the loop and the first connect.</summary>
    public void Start()
    {
        _loop ??= Task.Run(RunAsync);
        Post(new Event.Start());
    }

    /// <summary>Queues messages for the Established connection (dropped when there is none by the time they are sent).</summary>
    public void Send(IEnumerable<BgpMessage> messages) => Post(new Event.Send([.. messages]));

    /// <summary>Hands the session a connection the peer opened to our listener (collision handling decides which survives).</summary>
    public void Accept(IBgpConnection connection) => Post(new Event.Accepted(connection));

    /// <summary>A Cease / Administrative Shutdown to the peer (which withdraws our routes at once), then the loop ends.</summary>
    public async Task StopAsync(string reason = "twill agent stopping")
    {
        TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(new Event.Stop(NotificationMessage.AdministrativeShutdown(reason), done));
        await Finish(done).ConfigureAwait(false);
    }

    /// <summary>Closes every connection with a reset and no NOTIFICATION, as if the process died (graceful-restart tests).</summary>
    public async Task AbortAsync()
    {
        TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(new Event.Abort(done));
        await Finish(done).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_loop is not null && !_loop.IsCompleted)
        {
            await StopAsync().ConfigureAwait(false);
        }
        _stopping.Dispose();
    }

    private async Task Finish(TaskCompletionSource done)
    {
        if (_loop is null)
        {
            return;
        }
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    private TimeSpan Now => _time.GetElapsedTime(_epoch);

    private void Post(Event e) => _events.Writer.TryWrite(e);

    private async Task RunAsync()
    {
        ChannelReader<Event> reader = _events.Reader;
        while (true)
        {
            TimeSpan? deadline = _fsm.NextDeadline;
            TimeSpan wait = deadline is TimeSpan d ? d - Now : Timeout.InfiniteTimeSpan;
            if (wait != Timeout.InfiniteTimeSpan && wait <= TimeSpan.Zero)
            {
                await Apply(_fsm.Tick(Now)).ConfigureAwait(false);
                continue;
            }
            Event? e = null;
            if (!reader.TryRead(out e))
            {
                using CancellationTokenSource timer = new(wait, _time);
                try
                {
                    if (!await reader.WaitToReadAsync(timer.Token).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                catch (OperationCanceledException)
                {
                    continue; // A deadline: Tick on the next turn.
                }
                continue;
            }
            try
            {
                if (await Handle(e).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _logger.LogError(ex, "BGP peer {Peer}: session loop error", Settings);
            }
            _state = _fsm.State;
        }
    }

    /// <summary>Handles one event; true when the loop must end.</summary>
    private async Task<bool> Handle(Event e)
    {
        switch (e)
        {
            case Event.Start:
                await Apply(_fsm.Start(Now)).ConfigureAwait(false);
                break;
            case Event.ConnectDone done:
                if (_pendingConnects.Remove(done.Id, out CancellationTokenSource? finished))
                {
                    finished.Dispose();
                }
                if (done.Connection is null)
                {
                    await Apply(_fsm.ConnectFailed(Now, done.Id, done.Error!)).ConfigureAwait(false);
                }
                else if (!_fsm.HasConnection(done.Id))
                {
                    // Closed while connecting (a collision with an Established session, a stop): never use it.
                    done.Connection.Dispose();
                }
                else
                {
                    _connections[done.Id] = done.Connection;
                    _logger.LogDebug("BGP peer {Peer}: connected {Connection}", Settings, done.Connection.Describe());
                    StartReading(done.Id, done.Connection);
                    await Apply(_fsm.Connected(Now, done.Id)).ConfigureAwait(false);
                }
                break;
            case Event.Accepted accepted:
                (int id, IReadOnlyList<BgpAction> actions) = _fsm.Accepted(Now);
                if (id == 0)
                {
                    accepted.Connection.Dispose();
                }
                else
                {
                    _connections[id] = accepted.Connection;
                    _logger.LogDebug("BGP peer {Peer}: accepted {Connection}", Settings, accepted.Connection.Describe());
                    StartReading(id, accepted.Connection);
                }
                await Apply(actions).ConfigureAwait(false);
                break;
            case Event.Frame frame:
                BgpMessage message;
                try
                {
                    message = BgpCodec.Decode(frame.Bytes, _fsm.Session?.CodecOptions ?? BgpCodecOptions.Default);
                }
                catch (BgpProtocolException error)
                {
                    await Apply(_fsm.ProtocolError(Now, frame.Id, error)).ConfigureAwait(false);
                    break;
                }
                await Apply(_fsm.Received(Now, frame.Id, message)).ConfigureAwait(false);
                break;
            case Event.FramingError framing:
                await Apply(_fsm.ProtocolError(Now, framing.Id, framing.Error)).ConfigureAwait(false);
                break;
            case Event.Closed closed:
                if (_connections.ContainsKey(closed.Id))
                {
                    await Apply(_fsm.Closed(Now, closed.Id, closed.Reason)).ConfigureAwait(false);
                }
                break;
            case Event.Send send:
                int established = _fsm.EstablishedConnection;
                if (established != 0 && _connections.TryGetValue(established, out IBgpConnection? connection))
                {
                    BgpWriter writer = new(4096);
                    BgpCodecOptions options = _fsm.Session!.CodecOptions;
                    foreach (BgpMessage m in send.Messages)
                    {
                        BgpCodec.Encode(m, options, writer);
                    }
                    await Write(established, connection, writer.WrittenMemory).ConfigureAwait(false);
                }
                break;
            case Event.Stop stop:
                await Apply(_fsm.Stop(Now, stop.Notification)).ConfigureAwait(false);
                await _stopping.CancelAsync().ConfigureAwait(false);
                _state = _fsm.State;
                stop.Done.TrySetResult();
                return true;
            case Event.Abort abort:
                foreach (IBgpConnection c in _connections.Values)
                {
                    c.Abort();
                }
                _connections.Clear();
                _fsm.Abort();
                await _stopping.CancelAsync().ConfigureAwait(false);
                _state = _fsm.State;
                abort.Done.TrySetResult();
                return true;
        }
        return false;
    }

    private async Task Apply(IReadOnlyList<BgpAction> actions)
    {
        foreach (BgpAction action in actions)
        {
            switch (action)
            {
                case ConnectAction connect:
                    _ = ConnectAsync(connect.ConnectionId);
                    break;
                case SendAction send when _connections.TryGetValue(send.ConnectionId, out IBgpConnection? connection):
                    await Write(send.ConnectionId, connection, BgpCodec.Encode(send.Message, _fsm.Session?.CodecOptions ?? BgpCodecOptions.Default)).ConfigureAwait(false);
                    break;
                case CloseAction close:
                    if (_connections.Remove(close.ConnectionId, out IBgpConnection? closing))
                    {
                        closing.Dispose();
                    }
                    else if (_pendingConnects.Remove(close.ConnectionId, out CancellationTokenSource? pending))
                    {
                        await pending.CancelAsync().ConfigureAwait(false);
                        pending.Dispose();
                    }
                    break;
                case EstablishedAction established:
                    _state = BgpState.Established;
                    _handler.OnEstablished(this, established.Session);
                    break;
                case UpdateReceivedAction update:
                    _handler.OnUpdate(this, update.Update);
                    break;
                case RouteRefreshRequestedAction refresh:
                    _handler.OnRouteRefresh(this, refresh.Family);
                    break;
                case SessionDownAction down:
                    _state = _fsm.State;
                    _handler.OnDown(this, down);
                    break;
                case LogAction log:
#pragma warning disable CA2254 // The FSM composes the text; this is its only log call.
                    _logger.Log(log.Level, log.Message);
#pragma warning restore CA2254
                    break;
            }
        }
    }

    private async Task Write(int id, IBgpConnection connection, ReadOnlyMemory<byte> bytes)
    {
        try
        {
            await connection.WriteAsync(bytes, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Post(new Event.Closed(id, $"write failed: {e.Message}"));
        }
    }

    private async Task ConnectAsync(int id)
    {
        // Only the loop touches _pendingConnects: this runs synchronously up to the first await.
        CancellationTokenSource cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        _pendingConnects[id] = cancel;
        try
        {
            IBgpConnection connection = await _connector.ConnectAsync(Settings, cancel.Token).ConfigureAwait(false);
            Post(new Event.ConnectDone(id, connection, null));
        }
        catch (BgpConnectException e)
        {
            Post(new Event.ConnectDone(id, null, e.Message));
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            Post(new Event.ConnectDone(id, null, e.Message));
        }
    }

    private void StartReading(int id, IBgpConnection connection) => _ = ReadLoop(id, connection);

    /// <summary>Cuts the byte stream into whole messages; decoding happens on the loop, which knows the negotiated options.</summary>
    private async Task ReadLoop(int id, IBgpConnection connection)
    {
        byte[] buffer = new byte[64 * 1024];
        int filled = 0;
        try
        {
            while (true)
            {
                int read = await connection.ReadAsync(buffer.AsMemory(filled), _stopping.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    Post(new Event.Closed(id, "peer closed the connection"));
                    return;
                }
                filled += read;
                int start = 0;
                while (true)
                {
                    int length = BgpCodec.FrameLength(buffer.AsSpan(start, filled - start));
                    if (length == 0 || length > filled - start)
                    {
                        break;
                    }
                    Post(new Event.Frame(id, buffer.AsSpan(start, length).ToArray()));
                    start += length;
                }
                Debug.Assert(start <= filled);
                Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                filled -= start;
            }
        }
        catch (BgpProtocolException e)
        {
            Post(new Event.FramingError(id, e));
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            Post(new Event.Closed(id, e.Message));
        }
    }

    private abstract record Event
    {
        public sealed record Start : Event;

        public sealed record ConnectDone(int Id, IBgpConnection? Connection, string? Error) : Event;

        public sealed record Accepted(IBgpConnection Connection) : Event;

        public sealed record Frame(int Id, byte[] Bytes) : Event;

        public sealed record FramingError(int Id, BgpProtocolException Error) : Event;

        public sealed record Closed(int Id, string Reason) : Event;

        public sealed record Send(BgpMessage[] Messages) : Event;

        public sealed record Stop(NotificationMessage Notification, TaskCompletionSource Done) : Event;

        public sealed record Abort(TaskCompletionSource Done) : Event;
    }
}
