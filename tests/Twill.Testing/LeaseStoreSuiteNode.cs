using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Testing;

/// <summary>This node: its store, its manager, and its peer events pumped into a channel so a test can await the next with a deadline.</summary>
internal sealed class SuiteNode : IAsyncDisposable
{
    /// <summary>How long an expected event may take: generous (a loaded two-core machine), met as soon as it arrives.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly Channel<PeerEvent> _events = Channel.CreateUnbounded<PeerEvent>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private readonly ILeaseStore _store;
    private readonly List<string> _received = [];

    public SuiteNode(ILeaseStore store, LeaseManager manager)
    {
        _store = store;
        Manager = manager;
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (PeerEvent e in manager.WatchPeersAsync(_stop.Token))
                {
                    await _events.Writer.WriteAsync(e, CancellationToken.None);
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception e)
            {
                _events.Writer.TryComplete(e);
            }
            _events.Writer.TryComplete();
        });
    }

    public LeaseManager Manager { get; }

    /// <summary>What the test has read so far, for failure messages.</summary>
    public string Received => string.Join(", ", _received);

    public async Task<PeerEvent> NextAsync()
    {
        using CancellationTokenSource timeout = new(Deadline);
        try
        {
            PeerEvent e = await _events.Reader.ReadAsync(timeout.Token);
            _received.Add($"{e.Kind} {e.Lease?.Key}{(e.Kind == PeerEventKind.Snapshot ? "[" + string.Join(' ', e.Peers.Select(p => p.Key)) + "]" : "")}");
            return e;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"no peer event within {Deadline.TotalSeconds:F0} s; received so far: {string.Join(", ", _received)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
        await _store.DisposeAsync();
    }
}

/// <summary>The manager's warnings (skipped records) into the test's list.</summary>
internal sealed class WarningLogger(Action<string> warn) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == LogLevel.Warning)
        {
            warn(formatter(state, exception));
        }
    }
}

/// <summary>A store's own watch (below the manager) pumped into a channel, for the suite's store-level tests.</summary>
internal sealed class StoreWatch : IAsyncDisposable
{
    private readonly Channel<LeaseChange> _changes = Channel.CreateUnbounded<LeaseChange>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;

    public StoreWatch(ILeaseStore store, long afterRevision) =>
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (LeaseChange change in store.WatchAsync(afterRevision, _stop.Token))
                {
                    await _changes.Writer.WriteAsync(change, CancellationToken.None);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                _changes.Writer.TryComplete(e);
            }
            _changes.Writer.TryComplete();
        });

    public async Task<LeaseChange> NextAsync()
    {
        using CancellationTokenSource timeout = new(SuiteNode.Deadline);
        try
        {
            return await _changes.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"no store change within {SuiteNode.Deadline.TotalSeconds:F0} s");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
    }
}
