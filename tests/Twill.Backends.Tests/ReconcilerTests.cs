using System.Net;

namespace Twill.Backends.Tests;

public class ReconcilerTests
{
    private static KernelPlan PlanFor(params PeerLease[] peers) =>
        VxlanBackend.Plan(Leases.Vxlan, Leases.Own, peers, Leases.Eth0, Leases.Mac("0a:00:00:00:00:01"));

    private static readonly PeerLease Peer2 = Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02");
    private static readonly PeerLease Peer3 = Leases.Lease(3, "192.0.2.13", "0a:00:00:00:00:03");

    [Fact]
    public void Reconcile_EmptyKernel_CreatesEverythingThenNothingToDo()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);

        ReconcileResult first = reconciler.Reconcile(PlanFor(Peer2, Peer3));
        ReconcileResult second = reconciler.Reconcile(PlanFor(Peer2, Peer3));

        Assert.Equal(DeviceAction.Create, first.DeviceAction);
        Assert.True(first.Converged);
        Assert.Equal(8, first.Applied);
        Assert.Equal(Leases.Mac("0a:00:00:00:00:01"), first.DeviceMac);
        Assert.Equal(2, kernel.Routes.Count);
        Assert.Equal(DeviceAction.None, second.DeviceAction);
        Assert.Equal(0, second.Applied);
        Assert.Equal(0, second.DriftRepairs);
    }

    [Fact]
    public void Reconcile_RouteNeighbourFdbDeletedByHand_RestoredAndCountedAsDrift()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2, Peer3));
        kernel.Routes.Remove(IPNetwork.Parse("10.244.2.0/24"));
        kernel.Neighbours.Remove(("flannel.4096", IPAddress.Parse("10.244.3.0")));
        kernel.Fdb.Clear();

        ReconcileResult result = reconciler.Reconcile(PlanFor(Peer2, Peer3));

        Assert.Equal(4, result.Applied);
        Assert.Equal(4, result.DriftRepairs);
        Assert.Equal(2, kernel.Routes.Count);
        Assert.Equal(2, kernel.Neighbours.Count);
        Assert.Equal(2, kernel.Fdb.Count);
    }

    [Fact]
    public void Reconcile_DeviceDeleted_RecreatedWithEveryPeer()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2, Peer3));
        kernel.DeleteDevice("flannel.4096");

        ReconcileResult result = reconciler.Reconcile(PlanFor(Peer2, Peer3));

        Assert.Equal(DeviceAction.Create, result.DeviceAction);
        Assert.Equal(2, kernel.Routes.Count);
        Assert.Equal(2, kernel.Fdb.Count);
        Assert.Single(kernel.Addresses);
    }

    [Fact]
    public void Reconcile_StalePeerAtStart_Removed()
    {
        InMemoryKernel kernel = new();
        new Reconciler(kernel).Reconcile(PlanFor(Peer2, Peer3));

        // A new agent (restart) whose store no longer has peer 3.
        ReconcileResult result = new Reconciler(kernel).Reconcile(PlanFor(Peer2));

        Assert.Equal(3, result.Applied);
        Assert.Equal([IPNetwork.Parse("10.244.2.0/24")], kernel.Routes.Keys);
        Assert.Single(kernel.Neighbours);
        Assert.Single(kernel.Fdb);
    }

    [Fact]
    public void Reconcile_PeerMacChanged_NeighbourReplacedOldFdbRemoved()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2));

        reconciler.Reconcile(PlanFor(Peer2 with { VtepMac = Leases.Mac("0a:00:00:00:00:22") }));

        Assert.Equal(Leases.Mac("0a:00:00:00:00:22"), Assert.Single(kernel.Neighbours.Values).Mac);
        Assert.Equal(Leases.Mac("0a:00:00:00:00:22"), Assert.Single(kernel.Fdb).Mac);
    }

    [Fact]
    public void Reconcile_MtuChanged_DeviceUpdatedInPlace()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2));
        int index = kernel.Devices["flannel.4096"].Index;

        ReconcileResult result = reconciler.Reconcile(
            VxlanBackend.Plan(Leases.Vxlan with { Mtu = 1400 }, Leases.Own, [Peer2], Leases.Eth0, Leases.Mac("0a:00:00:00:00:01")));

        Assert.Equal(DeviceAction.Update, result.DeviceAction);
        Assert.Equal(1400, kernel.Devices["flannel.4096"].Mtu);
        Assert.Equal(index, kernel.Devices["flannel.4096"].Index);
    }

    [Fact]
    public void Reconcile_PortChanged_DeviceRecreatedWithPeers()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2));

        ReconcileResult result = reconciler.Reconcile(
            VxlanBackend.Plan(Leases.Vxlan with { Port = 4790 }, Leases.Own, [Peer2], Leases.Eth0, Leases.Mac("0a:00:00:00:00:01")));

        Assert.Equal(DeviceAction.Recreate, result.DeviceAction);
        Assert.Contains("dstport 4789 -> 4790", result.DeviceReason, StringComparison.Ordinal);
        Assert.Equal(4790, kernel.Devices["flannel.4096"].Port);
        Assert.Single(kernel.Routes);
        Assert.Single(kernel.Fdb);
    }

    [Fact]
    public void Reconcile_VniChanged_OldDeviceDeleted()
    {
        InMemoryKernel kernel = new();
        Reconciler reconciler = new(kernel);
        reconciler.Reconcile(PlanFor(Peer2));

        reconciler.Reconcile(VxlanBackend.Plan(Leases.Vxlan with { Vni = 4097 }, Leases.Own,
            [Peer2 with { Vni = 4097 }], Leases.Eth0));

        Assert.Equal(["flannel.4097"], kernel.Devices.Keys);
        Assert.Equal("flannel.4097", Assert.Single(kernel.Routes.Values).Device);
    }

    [Fact]
    public void Reconcile_OneChangeFails_OthersAppliedErrorReportedRetriedNextPass()
    {
        InMemoryKernel kernel = new()
        {
            Fail = c => c is KernelChange.PutRoute { Route.Destination: var d } && d == IPNetwork.Parse("10.244.3.0/24")
                ? new KernelFailure("File exists", Twill.Netlink.Errno.EEXIST) : null,
        };
        Reconciler reconciler = new(kernel);

        ReconcileResult first = reconciler.Reconcile(PlanFor(Peer2, Peer3));
        kernel.Fail = _ => null;
        ReconcileResult second = reconciler.Reconcile(PlanFor(Peer2, Peer3));

        Assert.False(first.Converged);
        Assert.Contains("10.244.3.0/24", Assert.Single(first.Errors), StringComparison.Ordinal);
        ReconcileFailure failure = Assert.Single(first.Failures);
        Assert.Equal(Twill.Netlink.Errno.EEXIST, failure.Errno);
        Assert.StartsWith("PutRoute 10.244.3.0/24 via ", failure.What, StringComparison.Ordinal);
        Assert.True(second.Converged);
        Assert.Equal(1, second.Applied);
        Assert.Equal(2, kernel.Routes.Count);
    }

    [Fact]
    public void Reconcile_HostGw_RoutesOnlyAndStaleRouteGone()
    {
        InMemoryKernel kernel = new();
        kernel.Routes[IPNetwork.Parse("10.244.9.0/24")] = new PlannedRoute(IPNetwork.Parse("10.244.9.0/24"), IPAddress.Parse("192.0.2.19"), "eth0", false);
        KernelPlan plan = HostGwBackend.Plan(Leases.HostGw, Leases.Lease(1, "192.0.2.11", type: "host-gw"),
            [Leases.Lease(2, "192.0.2.12", type: "host-gw")], Leases.Eth0);

        ReconcileResult result = new Reconciler(kernel).Reconcile(plan);

        Assert.Equal(DeviceAction.None, result.DeviceAction);
        Assert.Equal([IPNetwork.Parse("10.244.2.0/24")], kernel.Routes.Keys);
        Assert.Empty(kernel.Devices);
    }
}
