using System.Globalization;
using Microsoft.Extensions.Logging;
using Twill.Backends;
using Twill.Core;

namespace Twill.Agent;

/// <summary>
/// What the reconcile loop tells the operator about each pass: the metrics (phase times, totals),
/// the debug timings and memory, each plan problem once (until it goes away and comes back), device
/// actions, drift repairs and errors.
/// </summary>
internal sealed class PassReporter(ILogger log, AgentMetrics metrics)
{
    // Per stack, the problems already logged: a problem is logged when it appears, not on every pass.
    private readonly Dictionary<DataPathStack, HashSet<string>> _reported = [];

    /// <summary>One stack's pass, into the phase metrics and the debug log.</summary>
    public void Record(StackPass pass)
    {
        ReconcileResult r = pass.Result;
        metrics.RecordPhases(r.Mode, pass.PlanTime, r.ReadTime, r.DiffTime, r.ApplyTime);
        log.LogDebug("{Stack}: {Mode} pass: plan {PlanMs} ms, read {ReadMs} ms, diff {DiffMs} ms, apply {ApplyMs} ms; {Applied} changes, {Errors} errors; {Gen0} gen0 collections so far",
            pass.Stack.Name, r.Mode, Ms(pass.PlanTime), Ms(r.ReadTime), Ms(r.DiffTime), Ms(r.ApplyTime), r.Applied, r.Errors.Count, GC.CollectionCount(0));
        if (r.Mode == ReconcileMode.Full && log.IsEnabled(LogLevel.Debug))
        {
            GCMemoryInfo gc = GC.GetGCMemoryInfo();
            log.LogDebug("Memory: resident {ResidentMb} MB, GC heap {HeapMb} MB, committed {CommittedMb} MB, {Collections} gen0/{Gen1} gen1/{Gen2} gen2 collections",
                Mb(Environment.WorkingSet), Mb(gc.HeapSizeBytes), Mb(gc.TotalCommittedBytes), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        }
    }

    /// <summary>The totals of one pass over every stack.</summary>
    public void RecordTotals(List<StackPass> passes)
    {
        TimeSpan duration = TimeSpan.Zero;
        foreach (StackPass p in passes)
        {
            duration += p.PlanTime + p.Result.Duration;
        }
        metrics.RecordReconcile(passes.Max(p => p.Plan.PeerCount), passes.Sum(p => p.Plan.ObjectCount),
            passes.Sum(p => p.Plan.Problems.Count(x => x.Severity != ProblemSeverity.Info)),
            duration, passes.Sum(p => p.Result.Errors.Count), passes.Sum(p => p.Result.DriftRepairs));
    }

    /// <summary>What the pass found and did, for the log.</summary>
    public void Report(StackPass pass)
    {
        (DataPathStack stack, KernelPlan plan, ReconcileResult result) = (pass.Stack, pass.Plan, pass.Result);
        if (!_reported.TryGetValue(stack, out HashSet<string>? reported))
        {
            _reported[stack] = reported = new HashSet<string>(StringComparer.Ordinal);
        }
        if (result.DeviceMac is not null && stack.VtepMac is not null && !result.DeviceMac.Equals(stack.VtepMac))
        {
            log.LogWarning("Device MAC {Actual} differs from the stable VtepMAC {Expected}; resetting it next pass", result.DeviceMac.ToColonString(), stack.VtepMac.ToColonString());
        }
        HashSet<string> now = new(StringComparer.Ordinal);
        foreach (PlanProblem problem in plan.Problems)
        {
            string text = problem.ToString();
            now.Add(text);
            if (reported.Contains(text))
            {
                continue;
            }
            LogLevel level = problem.Severity switch
            {
                ProblemSeverity.Info => LogLevel.Debug,
                ProblemSeverity.Warning => LogLevel.Warning,
                _ => LogLevel.Error,
            };
            log.Log(level, "Peer {Peer}: {Problem}", problem.Peer, problem.Message);
        }
        reported.Clear();
        reported.UnionWith(now);
        if (result.DeviceAction is DeviceAction.Create or DeviceAction.Recreate or DeviceAction.Update)
        {
            log.LogInformation("Device {Action}: {Reason}", result.DeviceAction, result.DeviceReason);
        }
        if (result.DriftRepairs > 0)
        {
            log.LogWarning("Repaired {Count} kernel objects that drifted from the plan", result.DriftRepairs);
        }
        else if (result.Applied > 0)
        {
            log.LogDebug("Applied {Count} kernel changes in {Ms} ms", result.Applied, result.Duration.TotalMilliseconds);
        }
        foreach (string error in result.Errors)
        {
            log.LogError("Reconcile: {Error}", error);
        }
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("F2", CultureInfo.InvariantCulture);
}
