using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Twill.Backends;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// Keeps the kernel equal to the backends' plans for the current peers: a full reconcile (kernel
/// read and diffed) at start (once the first peer listing is in, so a restart never drops a peer's
/// routes), every resync period and after any error; a delta (the new plan against the last applied
/// one, no kernel read) on lease events, coalesced. The peers are the lease manager's one
/// <see cref="PeerSet"/>; the watch only wakes the loop. subnet.env is written once the data path is ready.
/// </summary>
internal sealed class ReconcileLoop
{
    private readonly IReadOnlyList<DataPathStack> _stacks;
    private readonly LeaseManager _manager;
    private readonly SubnetEnvPublisher _subnetEnv;
    private readonly TimeSpan _resyncPeriod;
    private readonly ILogger _log;
    private readonly AgentMetrics _metrics;
    private readonly PassReporter _reporter;
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private volatile bool _haveSnapshot;
    private long _lastLoopTicks = Stopwatch.GetTimestamp();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReconcileLoop(IReadOnlyList<DataPathStack> stacks, LeaseManager manager, SubnetEnvPublisher subnetEnv, TimeSpan resyncPeriod, ILogger log, AgentMetrics metrics)
    {
        _stacks = stacks;
        _manager = manager;
        _subnetEnv = subnetEnv;
        _resyncPeriod = resyncPeriod;
        _log = log;
        _metrics = metrics;
        _reporter = new PassReporter(log, metrics);
    }

    /// <summary>Completes when the data path is first ready (subnet.env written): what the cluster is then told (Kubernetes: NetworkUnavailable=False).</summary>
    public Task DataPathReady => _ready.Task;

    /// <summary>For /healthz: the loop went round recently (a stuck loop is a dead agent).</summary>
    public bool Alive() => Stopwatch.GetElapsedTime(Volatile.Read(ref _lastLoopTicks)) < (_resyncPeriod * 3) + TimeSpan.FromSeconds(30);

    /// <summary>Asks for a pass now (something the plans read changed: the bgp backend's imported routes).</summary>
    public void Wake() => _wake.Writer.TryWrite(0);

        /// <summary>Follows the peers' leases (the manager keeps them in its <see cref="PeerSet"/>) and wakes the loop on each change.</summary>
    public async Task WatchAsync(CancellationToken ct)
    {
        await foreach (PeerEvent e in _manager.WatchPeersAsync(ct).ConfigureAwait(false))
        {
            _metrics.RecordLeaseEvent();
            _metrics.Readiness.WatchWorks();
            if (e.Kind == PeerEventKind.Snapshot)
            {
                _haveSnapshot = true;
            }
            _log.LogDebug("Peer event {Kind} {Key}", e.Kind, e.Lease?.Key ?? $"{e.Peers.Count} peers");
            _wake.Writer.TryWrite(0);
        }
    }

    public async Task RunAsync(CancellationToken ct)
    {
        long nextFull = 0; // a full pass is due now
        long? failingSince = null;
        while (!ct.IsCancellationRequested)
        {
            long now = Stopwatch.GetTimestamp();
            Volatile.Write(ref _lastLoopTicks, now);
            CheckLease();
            TimeSpan wait = _resyncPeriod;
            if (_haveSnapshot)
            {
                Lease[] peers = _manager.Peers.ToArray();
                // Events (and the bursts they come in: all of them since the last pass, coalesced by the
                // wake channel) get a delta; the resync period, start-up and failures get a full pass.
                // (A little early counts: the timer that ends the wait below may fire a hair before nextFull.)
                bool full = now + (Stopwatch.Frequency / 100) >= nextFull;
                if (full)
                {
                    nextFull = now + (long)(_resyncPeriod.TotalSeconds * Stopwatch.Frequency);
                }
                List<StackPass> passes = Pass(peers, full);
                bool converged = passes.TrueForAll(p => p.Result.Converged);
                // subnet.env waits for a clean pass; once written, it stays valid unless a device is (re)created.
                bool envValid = converged || (_subnetEnv.Written is not null && passes.TrueForAll(p => p.Result.DeviceAction is DeviceAction.None or DeviceAction.Update));
                if (envValid && _subnetEnv.Publish(_stacks))
                {
                    _log.LogInformation("Data path ready: {Peers} peers, {Objects} kernel objects; wrote {SubnetFile}",
                        passes.Max(p => p.Plan.PeerCount), passes.Sum(p => p.Plan.ObjectCount), _subnetEnv.Path);
                    _ready.TrySetResult();
                }
                if (converged)
                {
                    failingSince = null;
                    _metrics.Readiness.SetDataPath(_subnetEnv.Written is null ? Readiness.NotProgrammed : null);
                    wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextFull);
                    if (wait < TimeSpan.Zero)
                    {
                        wait = TimeSpan.Zero;
                    }
                }
                else
                {
                    failingSince ??= now;
                    TimeSpan failing = Stopwatch.GetElapsedTime(failingSince.Value);
                    // One failed pass is retried at once; errors that outlast a resync period mean the
                    // data path is not what it should be, and the node says so.
                    if (_subnetEnv.Written is null || failing >= _resyncPeriod)
                    {
                        string first = passes.SelectMany(p => p.Result.Errors).FirstOrDefault() ?? "unknown error";
                        _metrics.Readiness.SetDataPath(string.Create(CultureInfo.InvariantCulture,
                            $"data path not converged: reconcile failing for {failing.TotalSeconds:F0} s: {first}"));
                    }
                    wait = TimeSpan.FromSeconds(1); // retry soon: something failed
                }
            }
            using CancellationTokenSource timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timer.CancelAfter(wait);
            try
            {
                await _wake.Reader.WaitToReadAsync(timer.Token).ConfigureAwait(false);
                _wake.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The resync period elapsed (or a retry is due): the next pass is a full one.
            }
        }
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>Every stack brought to its plan for <paramref name="peers"/>; a delta that failed is followed at once by a full pass.</summary>
    private List<StackPass> Pass(Lease[] peers, bool full)
    {
        List<StackPass> passes = new(_stacks.Count);
        foreach (DataPathStack stack in _stacks)
        {
            StackPass pass = stack.Run(peers, full);
            if (pass.Result.Mode == ReconcileMode.Delta && !pass.Result.Converged)
            {
                // The kernel is not what the last plan left (a device deleted by hand, say): read it.
                _log.LogWarning("{Stack}: applying a lease change failed ({Count} errors, first: {Error}); running a full reconcile",
                    stack.Name, pass.Result.Errors.Count, pass.Result.Errors[0]);
                _reporter.Record(pass);
                pass = stack.Run(peers, full: true);
            }
            _reporter.Record(pass);
            _reporter.Report(pass);
            passes.Add(pass);
        }
        _reporter.RecordTotals(passes);
        return passes;
    }

    /// <summary>The lease must still be valid; a renewal that keeps failing lets it expire, and the node is then not ready.</summary>
    private void CheckLease()
    {
        Lease? current = _manager.Current;
        if (current is null)
        {
            _metrics.Readiness.SetLease("no lease: it was released or lost");
        }
        else if (current.Expiration <= DateTimeOffset.UtcNow)
        {
            _metrics.Readiness.SetLease($"lease {current.Key} expired at {current.Expiration:u}: renewing it keeps failing");
        }
        else
        {
            _metrics.Readiness.SetLease(null);
        }
    }
}
