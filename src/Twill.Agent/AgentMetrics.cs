using System.Globalization;
using System.Text;

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

    /// <summary>Set when the data path is ready and subnet.env written.</summary>
    public bool Ready { get; set; }

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
            Gauge(sb, "twill_ready", "1 once the data path is ready and subnet.env written.", Ready ? 1 : 0);
            Gauge(sb, "twill_reconcile_last_duration_seconds", "Duration of the last reconcile pass.", _lastReconcileSeconds);
            sb.Append("# HELP twill_reconcile_duration_seconds Reconcile pass durations.\n# TYPE twill_reconcile_duration_seconds summary\n");
            sb.Append("twill_reconcile_duration_seconds_sum ").Append(Num(_reconcileSecondsSum)).Append('\n');
            sb.Append("twill_reconcile_duration_seconds_count ").Append(Num(_reconciles)).Append('\n');
            Counter(sb, "twill_reconcile_errors_total", "Kernel changes that failed (retried on the next pass).", _reconcileErrors);
            Counter(sb, "twill_drift_repairs_total", "Kernel objects restored or removed because the kernel drifted from an unchanged plan.", _driftRepairs);
            Counter(sb, "twill_lease_events_total", "Peer lease events received.", Interlocked.Read(ref _leaseEvents));
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
