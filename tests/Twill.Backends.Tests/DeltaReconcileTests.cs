using System.Net;

namespace Twill.Backends.Tests;

/// <summary>The event path: a plan diffed against the last applied plan, applied without reading the kernel.</summary>
public class DeltaReconcileTests
{
    private static readonly PeerLease Peer2 = Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02");
    private static readonly PeerLease Peer3 = Leases.Lease(3, "192.0.2.13", "0a:00:00:00:00:03");
    private static readonly PeerLease Peer4 = Leases.Lease(4, "198.51.100.14", "0a:00:00:00:00:04");

    private static KernelPlan PlanFor(params PeerLease[] peers) => PlanFor(Leases.Vxlan, peers);

    private static KernelPlan PlanFor(BackendSettings settings, params PeerLease[] peers) =>
        VxlanBackend.Plan(settings, Leases.Own, peers, Leases.Eth0, Leases.Mac("0a:00:00:00:00:01"));

    private static KernelState StateOf(KernelPlan plan) => new()
    {
        Devices = plan.Device is PlannedDevice d
            ? [new ObservedDevice(d) { Index = 7, IsUp = true }]
            : [],
        Addresses = plan.Addresses,
        Routes = plan.Routes,
        Neighbours = plan.Neighbours,
        Fdb = plan.Fdb,
    };

    private static readonly PeerLease Peer5 = Leases.Lease(5, "192.0.2.15", "0a:00:00:00:00:05");

    public static TheoryData<string> Transitions =>
        ["add", "remove", "new-mac", "new-public-ip", "replace-all", "same", "direct-routing", "scattered", "add-first-remove-last", "swap-macs"];

    [Theory]
    [MemberData(nameof(Transitions))]
    public void Delta_AnyTransition_SameAsFullDiffAgainstAKernelHoldingTheOldPlan(string transition)
    {
        KernelPlan before = PlanFor(Peer2, Peer3);
        KernelPlan after = transition switch
        {
            "add" => PlanFor(Peer2, Peer3, Peer4),
            "remove" => PlanFor(Peer3),
            "new-mac" => PlanFor(Peer2, Peer3 with { VtepMac = Leases.Mac("0a:00:00:00:00:33") }),
            "new-public-ip" => PlanFor(Peer2, Peer3 with { PublicIP = IPAddress.Parse("192.0.2.33") }),
            "replace-all" => PlanFor(Peer4),
            "same" => PlanFor(Peer2, Peer3),
            "scattered" => PlanFor(Peer2 with { VtepMac = Leases.Mac("0a:00:00:00:00:22") }, Peer4, Peer5 with { PublicIP = IPAddress.Parse("192.0.2.55") }),
            "add-first-remove-last" => PlanFor(Leases.Lease(0, "192.0.2.10", "0a:00:00:00:00:10"), Peer2, Peer3, Peer4),
            "swap-macs" => PlanFor(Peer2 with { VtepMac = Peer3.VtepMac }, Peer3 with { VtepMac = Peer2.VtepMac }),
            _ => PlanFor(Leases.Vxlan with { DirectRouting = true }, Peer2, Peer4),
        };
        if (transition == "direct-routing")
        {
            before = PlanFor(Leases.Vxlan with { DirectRouting = true }, Peer2, Peer3);
        }
        else if (transition is "scattered" or "add-first-remove-last")
        {
            before = PlanFor(Peer2, Peer3, Peer4, Peer5);
        }

        PlanDiff delta = PlanDiffer.Delta(after, before);
        KernelState kernel = StateOf(before);
        PlanDiff full = PlanDiffer.Diff(after, kernel);

        Assert.Equal(DeviceAction.None, full.DeviceAction);
        Assert.Equal(full.AddAddresses.ToHashSet(), delta.AddAddresses.ToHashSet());
        Assert.Equal(full.DeleteAddresses.ToHashSet(), delta.DeleteAddresses.ToHashSet());
        Assert.Equal(full.PutRoutes.ToHashSet(), delta.PutRoutes.ToHashSet());
        Assert.Equal(full.DeleteRoutes.ToHashSet(), delta.DeleteRoutes.ToHashSet());
        Assert.Equal(full.PutNeighbours.ToHashSet(), delta.PutNeighbours.ToHashSet());
        Assert.Equal(full.DeleteNeighbours.ToHashSet(), delta.DeleteNeighbours.ToHashSet());
        Assert.Equal(full.PutFdb.ToHashSet(), delta.PutFdb.ToHashSet());
        Assert.Equal(full.DeleteFdb.ToHashSet(), delta.DeleteFdb.ToHashSet());
        Assert.Equal(full.Count, delta.Count);
    }

    [Fact]
    public void Delta_DevicesDiffer_Throws()
    {
        KernelPlan before = PlanFor(Peer2);
        KernelPlan after = PlanFor(Leases.Vxlan with { Mtu = 1400 }, Peer2);

        Assert.False(PlanDiffer.SameDevice(before, after));
        Assert.Throws<ArgumentException>(() => PlanDiffer.Delta(after, before));
    }

    [Fact]
    public void ApplyDelta_AfterFullPass_AppliesOnlyTheNewPeerWithoutReading()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        ReconcileResult first = reconciler.ApplyDelta(PlanFor(Peer2, Peer3));
        int reads = kernel.ReadCalls;

        ReconcileResult second = reconciler.ApplyDelta(PlanFor(Peer2, Peer3, Peer4));

        Assert.Equal(ReconcileMode.Full, first.Mode);
        Assert.Equal(ReconcileMode.Delta, second.Mode);
        Assert.True(second.Converged);
        Assert.Equal(3, second.Applied);
        Assert.Equal(reads, kernel.ReadCalls);
        Assert.Equal(3, kernel.Routes.Count);
        Assert.Equal(0, PlanDiffer.Diff(PlanFor(Peer2, Peer3, Peer4), kernel.State("flannel.4096")).Count);
        Assert.NotNull(reconciler.Applied);
    }

    [Fact]
    public void ApplyDelta_PeerRemoved_ItsObjectsDeleted()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2, Peer3));

        ReconcileResult result = reconciler.ApplyDelta(PlanFor(Peer2));

        Assert.Equal(ReconcileMode.Delta, result.Mode);
        Assert.Equal(3, result.Applied);
        Assert.Equal([IPNetwork.Parse("10.244.2.0/24")], kernel.Routes.Keys);
        Assert.Single(kernel.Neighbours);
        Assert.Single(kernel.Fdb);
    }

    [Fact]
    public void ApplyDelta_ChangeFails_ErrorReportedAndNextPassIsFull()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2));
        kernel.Fail = c => c is KernelChange.PutRoute { Route: var r } && r.Destination == IPNetwork.Parse("10.244.3.0/24") ? new KernelFailure("no such device") : null;

        ReconcileResult failed = reconciler.ApplyDelta(PlanFor(Peer2, Peer3));
        KernelPlan? afterFailure = reconciler.Applied;
        kernel.Fail = _ => null;
        int reads = kernel.ReadCalls;
        ReconcileResult next = reconciler.ApplyDelta(PlanFor(Peer2, Peer3));

        Assert.Equal(ReconcileMode.Delta, failed.Mode);
        Assert.False(failed.Converged);
        Assert.Contains("no such device", failed.Errors[0], StringComparison.Ordinal);
        Assert.Null(afterFailure);
        Assert.Equal(ReconcileMode.Full, next.Mode);
        Assert.True(next.Converged);
        Assert.True(kernel.ReadCalls > reads);
        Assert.Equal(2, kernel.Routes.Count);
    }

    [Fact]
    public void ApplyDelta_DeviceSettingChanged_RunsFullPass()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2));

        ReconcileResult result = reconciler.ApplyDelta(PlanFor(Leases.Vxlan with { Mtu = 1400 }, Peer2));

        Assert.Equal(ReconcileMode.Full, result.Mode);
        Assert.Equal(DeviceAction.Update, result.DeviceAction);
        Assert.Equal(1400, kernel.Devices["flannel.4096"].Mtu);
    }

    [Fact]
    public void ApplyDelta_DriftSinceLastFullPass_LeftForTheResync()
    {
        // A delta trusts the last applied plan; a route deleted by hand is the full pass's job.
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2, Peer3));
        kernel.Routes.Remove(IPNetwork.Parse("10.244.2.0/24"));

        ReconcileResult delta = reconciler.ApplyDelta(PlanFor(Peer2, Peer3));
        ReconcileResult full = reconciler.Reconcile(PlanFor(Peer2, Peer3));

        Assert.Equal(0, delta.Applied);
        Assert.Equal(1, full.Applied);
        Assert.Equal(1, full.DriftRepairs);
        Assert.Equal(2, kernel.Routes.Count);
    }

    [Fact]
    public void Forget_AfterFullPass_NextPassIsFull()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2));
        Assert.NotNull(reconciler.Applied);

        reconciler.Forget();

        Assert.Null(reconciler.Applied);
        Assert.Equal(ReconcileMode.Full, reconciler.ApplyDelta(PlanFor(Peer2)).Mode);
    }

    [Fact]
    public void Reconcile_FullPass_ReportsPhaseTimes()
    {
        Reconciler reconciler = new(new InMemoryKernel());

        ReconcileResult result = reconciler.Reconcile(PlanFor(Peer2, Peer3));

        Assert.Equal(ReconcileMode.Full, result.Mode);
        Assert.True(result.ReadTime > TimeSpan.Zero);
        Assert.True(result.ReadTime + result.DiffTime + result.ApplyTime <= result.Duration);
    }
}
