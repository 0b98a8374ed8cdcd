namespace Twill.Drills;

/// <summary>Which drills run and how long each lasts: <c>make drills</c>'s full run or the quick subset <c>make test</c> runs.</summary>
public sealed record DrillPlan
{
    /// <summary>The full run's store outage (the 60 s).</summary>
    public TimeSpan StoreOutage { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the ping of an agent-restart drill runs.</summary>
    public TimeSpan RestartTraffic { get; init; } = TimeSpan.FromSeconds(10);

    public IReadOnlyList<Drift> Drifts { get; init; } = DriftDrill.All;

    /// <summary>Groups to run (agent, drift, store); empty: all.</summary>
    public IReadOnlySet<string> Only { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public static DrillPlan Quick { get; } = new()
    {
        StoreOutage = TimeSpan.FromSeconds(4),
        RestartTraffic = TimeSpan.FromSeconds(4),
        Drifts = DriftDrill.Quick,
    };

    public bool Runs(string group) => Only.Count == 0 || Only.Contains(group);
}

/// <summary>
/// Runs a plan's drills on one three-node vxlan lab on etcd (one lab for all: bringing one up is the
/// slowest step), in an order where each drill leaves the lab as it found it; the bridge drill, which
/// the agent does not heal, runs last.
/// </summary>
public static class DrillSuite
{
    /// <summary>twill lab up's flags for the drills' lab.</summary>
    public static readonly string[] LabOptions = ["--nodes", "3", "--backend", "vxlan", "--underlay", "l2", "--store", "etcd"];

    public static List<DrillResult> Run(DrillPlan plan, Action<DrillResult> report)
    {
        List<DrillResult> results = [];
        void Add(DrillResult r)
        {
            results.Add(r);
            report(r);
        }
        using DrillLab lab = DrillLab.Up(LabOptions);
        if (plan.Runs("agent"))
        {
            foreach (AgentExit exit in Enum.GetValues<AgentExit>())
            {
                Add(AgentRestartDrill.Run(lab, exit, plan.RestartTraffic));
            }
        }
        List<Drift> last = [.. plan.Drifts.Where(d => d == DriftDrill.Bridge)];
        if (plan.Runs("drift"))
        {
            foreach (Drift drift in plan.Drifts.Except(last))
            {
                Add(DriftDrill.Run(lab, drift));
            }
        }
        if (plan.Runs("store"))
        {
            Add(StoreOutageDrill.Run(lab, plan.StoreOutage));
        }
        if (plan.Runs("drift"))
        {
            foreach (Drift drift in last)
            {
                Add(DriftDrill.Run(lab, drift));
            }
        }
        return results;
    }
}
