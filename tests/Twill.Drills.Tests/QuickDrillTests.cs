using Twill.Testing;

namespace Twill.Drills.Tests;

/// <summary>The lab every quick drill runs on (three vxlan nodes on etcd, as <c>make drills</c>'s).</summary>
public sealed class QuickDrillLab : IDisposable
{
    private readonly Lazy<DrillLab> _lab = new(() => DrillLab.Up(DrillSuite.LabOptions));

    public DrillLab Lab => _lab.Value;

    public void Dispose()
    {
        if (_lab.IsValueCreated)
        {
            _lab.Value.Dispose();
        }
    }
}

/// <summary>
/// <c>make drills --quick</c> as tests: each drill leaves the lab as it found it, so they share one.
/// Needs root and the built binaries (out/bin/twill, out/cni).
/// </summary>
[Trait("Category", "Binary")]
public sealed class QuickDrillTests(QuickDrillLab fixture) : IClassFixture<QuickDrillLab>
{
    /// <summary>
    /// The agent repairs drift on its resync timer (10 s), not on the deletion's netlink event, so a
    /// heal takes up to one period; under a loaded <c>make test</c> the timer and the drill's polling
    /// (several processes per look) run late by a second or two. <c>make drills</c> keeps the strict target.
    /// </summary>
    private static readonly TimeSpan LoadSlack = TimeSpan.FromSeconds(3);

    [RootTheory]
    [InlineData(AgentExit.Kill9)]
    [InlineData(AgentExit.Terminate)]
    [InlineData(AgentExit.Upgrade)]
    public void Agent_GoneAndBackDuringPing_NoPacketLost(AgentExit exit)
    {
        DrillResult r = AgentRestartDrill.Run(fixture.Lab, exit, DrillPlan.Quick.RestartTraffic);
        Assert.True(r.Pass, $"{r.Drill}: {r.Measured}\n{r.Detail}");
        Assert.StartsWith("0/", r.Measured, StringComparison.Ordinal);
    }

    [RootTheory]
    [InlineData("route")]
    [InlineData("neighbour")]
    [InlineData("FDB entry")]
    [InlineData("vxlan device")]
    [InlineData("iptables -F (filter, nat)")]
    public void Drift_DeletedByHand_HealedWithinOneResync(string what)
    {
        Drift drift = DriftDrill.Quick.Single(d => d.Name == what);
        DrillResult r = DriftDrill.Run(fixture.Lab, drift, LoadSlack);
        Assert.True(r.Pass, $"{r.Drill}: {r.Measured} (target {r.Target})\n{r.Detail}");
    }

    [RootFact]
    public void Store_EtcdStoppedSeconds_DataPathUnaffectedNoPeerEventMissed()
    {
        DrillResult r = StoreOutageDrill.Run(fixture.Lab, DrillPlan.Quick.StoreOutage);
        Assert.True(r.Pass, $"{r.Drill}: {r.Measured}\n{r.Detail}");
    }
}
