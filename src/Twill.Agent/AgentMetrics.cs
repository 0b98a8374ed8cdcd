using System.Globalization;
using System.Text;
using Twill.Backends;

namespace Twill.Agent;

/// <summary>The agent's figures, rendered in the Prometheus text format (version 0.0.4) for <c>/metrics</c>.</summary>
public sealed class AgentMetrics
{
    private readonly Lock _gate = new();
    private int _peers;
    private int _kernelObjects;
    private int _planProblems;
    private long _reconciles;
    private long _reconcileErrors;
    private long _driftRepairs;
    private double _lastReconcileSeconds;
    private double _reconcileSecondsSum;
    private long _leaseEvents;
    private long _fullPasses;
    private long _deltaPasses;
    private double _planSeconds;
    private double _readSeconds;
    private double _diffSeconds;
    private double _applySeconds;

    /// <summary>Whether the node can serve pods, and why not (<c>/readyz</c>).</summary>
    public Readiness Readiness { get; } = new();

    /// <summary>True when the node is ready (<see cref="Readiness"/>).</summary>
    public bool Ready => Readiness.IsReady;

    public void RecordReconcile(int peers, int kernelObjects, int problems, TimeSpan duration, int errors, int driftRepairs)
    {
        lock (_gate)
        {
            _peers = peers;
            _kernelObjects = kernelObjects;
            _planProblems = problems;
            _reconciles++;
            _reconcileErrors += errors;
            _driftRepairs += driftRepairs;
            _lastReconcileSeconds = duration.TotalSeconds;
            _reconcileSecondsSum += duration.TotalSeconds;
        }
    }

    /// <summary>Where one stack's pass spent its time, and whether it was a full or a delta pass.</summary>
    public void RecordPhases(ReconcileMode mode, TimeSpan plan, TimeSpan read, TimeSpan diff, TimeSpan apply)
    {
        lock (_gate)
        {
            if (mode == ReconcileMode.Full)
            {
                _fullPasses++;
            }
            else
            {
                _deltaPasses++;
            }
            _planSeconds += plan.TotalSeconds;
            _readSeconds += read.TotalSeconds;
            _diffSeconds += diff.TotalSeconds;
            _applySeconds += apply.TotalSeconds;
        }
    }

    public void RecordLeaseEvent() => Interlocked.Increment(ref _leaseEvents);

    public long DriftRepairs
    {
        get { lock (_gate) { return _driftRepairs; } }
    }

    public string Render()
    {
        StringBuilder sb = new();
        lock (_gate)
        {
            Gauge(sb, "twill_peers", "Peers whose pod subnets this node routes.", _peers);
            Gauge(sb, "twill_kernel_objects", "Kernel objects (device, addresses, routes, neighbours, FDB entries) the plan holds.", _kernelObjects);
            Gauge(sb, "twill_plan_problems", "Peers the plan reports a problem about.", _planProblems);
            Gauge(sb, "twill_ready", "1 while the node is ready: data path programmed and converged, lease valid, lease watch working.", Ready ? 1 : 0);
            Gauge(sb, "twill_reconcile_last_duration_seconds", "Duration of the last reconcile pass.", _lastReconcileSeconds);
            sb.Append("# HELP twill_reconcile_duration_seconds Reconcile pass durations.\n# TYPE twill_reconcile_duration_seconds summary\n");
            sb.Append("twill_reconcile_duration_seconds_sum ").Append(Num(_reconcileSecondsSum)).Append('\n');
            sb.Append("twill_reconcile_duration_seconds_count ").Append(Num(_reconciles)).Append('\n');
            Counter(sb, "twill_reconcile_errors_total", "Kernel changes that failed (retried on the next pass).", _reconcileErrors);
            Counter(sb, "twill_drift_repairs_total", "Kernel objects restored or removed because the kernel drifted from an unchanged plan.", _driftRepairs);
            Counter(sb, "twill_lease_events_total", "Peer lease events received.", Interlocked.Read(ref _leaseEvents));
            GCMemoryInfo gc = GC.GetGCMemoryInfo();
            Gauge(sb, "twill_gc_heap_bytes", "Managed heap size after the last garbage collection.", gc.HeapSizeBytes);
            Gauge(sb, "twill_gc_committed_bytes", "Memory the garbage collector has committed.", gc.TotalCommittedBytes);
            Gauge(sb, "twill_resident_memory_bytes", "The agent's resident set size.", Environment.WorkingSet);
            sb.Append("# HELP twill_reconcile_passes_total Reconcile passes by mode: full (kernel read) or delta (against the last applied plan).\n# TYPE twill_reconcile_passes_total counter\n");
            sb.Append("twill_reconcile_passes_total{mode=\"full\"} ").Append(Num(_fullPasses)).Append('\n');
            sb.Append("twill_reconcile_passes_total{mode=\"delta\"} ").Append(Num(_deltaPasses)).Append('\n');
            sb.Append("# HELP twill_reconcile_phase_seconds_total Time spent per reconcile phase.\n# TYPE twill_reconcile_phase_seconds_total counter\n");
            sb.Append("twill_reconcile_phase_seconds_total{phase=\"plan\"} ").Append(Num(_planSeconds)).Append('\n');
            sb.Append("twill_reconcile_phase_seconds_total{phase=\"read\"} ").Append(Num(_readSeconds)).Append('\n');
            sb.Append("twill_reconcile_phase_seconds_total{phase=\"diff\"} ").Append(Num(_diffSeconds)).Append('\n');
            sb.Append("twill_reconcile_phase_seconds_total{phase=\"apply\"} ").Append(Num(_applySeconds)).Append('\n');
        }
        return sb.ToString();
    }

    private static void Gauge(StringBuilder sb, string name, string help, double value) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(" gauge\n")
          .Append(name).Append(' ').Append(Num(value)).Append('\n');

    private static void Counter(StringBuilder sb, string name, string help, double value) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(" counter\n")
          .Append(name).Append(' ').Append(Num(value)).Append('\n');

    private static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
