namespace Twill.Agent;

/// <summary>
/// Whether this node can serve pods (<c>/readyz</c>), and if not, why. Ready means: the data path was
/// programmed and is not failing, this node's lease is valid, the lease watch works, and (bgp backend)
/// at least one ToR session is established, so the node's subnet is announced. Readiness is
/// not a one-way latch: it goes back to not-ready when one of these breaks, and to ready when fixed.
/// </summary>
public sealed class Readiness(TimeProvider? timeProvider = null)
{
    /// <summary>Before the first converged pass.</summary>
    public const string NotProgrammed = "data path not programmed yet (waiting for the first peer listing and a clean reconcile)";

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private string? _dataPath = NotProgrammed;
    private string? _lease;
    private string? _watch;
    private string? _routing;
    private DateTimeOffset _watchReportedAt;

    /// <summary>
    /// How long a reported watch problem counts without a newer report. A store that retries on its
    /// own (etcd) reports every failed attempt, and says nothing once a retry works; a problem not
    /// repeated within this time is taken as fixed.
    /// </summary>
    public TimeSpan WatchProblemLifetime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The data path's state: null when converged, else what is wrong.</summary>
    public void SetDataPath(string? problem)
    {
        lock (_gate)
        {
            _dataPath = problem;
        }
    }

    /// <summary>The lease's state: null when valid, else what is wrong.</summary>
    public void SetLease(string? problem)
    {
        lock (_gate)
        {
            _lease = problem;
        }
    }

    /// <summary>The announcement of the node's subnet (bgp backend): null when a ToR has it, else why not.</summary>
    public void SetRouting(string? problem)
    {
        lock (_gate)
        {
            _routing = problem;
        }
    }

    /// <summary>The lease watch (or listing) failed; not ready until it works again.</summary>
    public void WatchFailed(string problem)
    {
        lock (_gate)
        {
            _watch = problem;
            _watchReportedAt = _time.GetUtcNow();
        }
    }

    /// <summary>The lease watch delivered or listed successfully.</summary>
    public void WatchWorks()
    {
        lock (_gate)
        {
            _watch = null;
        }
    }

    /// <summary>True when ready.</summary>
    public bool IsReady => Check().Ready;

    /// <summary>Ready or not, and every reason it is not (one per line).</summary>
    public (bool Ready, string Reason) Check()
    {
        lock (_gate)
        {
            if (_watch is not null && _time.GetUtcNow() - _watchReportedAt > WatchProblemLifetime)
            {
                _watch = null;
            }
            List<string> reasons = [];
            if (_dataPath is not null)
            {
                reasons.Add(_dataPath);
            }
            if (_lease is not null)
            {
                reasons.Add(_lease);
            }
            if (_watch is not null)
            {
                reasons.Add("lease watch: " + _watch);
            }
            if (_routing is not null)
            {
                reasons.Add(_routing);
            }
            return reasons.Count == 0 ? (true, "ready") : (false, string.Join('\n', reasons));
        }
    }
}
