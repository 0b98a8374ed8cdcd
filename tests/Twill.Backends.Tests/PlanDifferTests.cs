using System.Net;

namespace Twill.Backends.Tests;

public class PlanDifferTests
{
    private static readonly KernelPlan Plan = VxlanBackend.Plan(Leases.Vxlan, Leases.Own,
        [Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02")], Leases.Eth0, Leases.Mac("0a:00:00:00:00:01"));

    private static ObservedDevice Device => new()
    {
        Name = "flannel.4096", Index = 5, Vni = 4096, Local = IPAddress.Parse("192.0.2.11"), UnderlayIndex = 2, Port = 4789,
        Mtu = 1450, Mac = Leases.Mac("0a:00:00:00:00:01"), IsUp = true,
    };

    [Fact]
    public void Diff_KernelMatches_Empty()
    {
        KernelState state = new()
        {
            Devices = [Device], Addresses = Plan.Addresses, Routes = Plan.Routes, Neighbours = Plan.Neighbours, Fdb = Plan.Fdb,
        };

        Assert.True(PlanDiffer.Diff(Plan, state).IsEmpty);
    }

    [Fact]
    public void Diff_EmptyKernel_CreateAndPutAll()
    {
        PlanDiff diff = PlanDiffer.Diff(Plan, KernelState.Empty);

        Assert.Equal(DeviceAction.Create, diff.DeviceAction);
        Assert.Single(diff.AddAddresses);
        Assert.Single(diff.PutRoutes);
        Assert.Single(diff.PutNeighbours);
        Assert.Single(diff.PutFdb);
    }

    [Fact]
    public void Diff_LearningOnOrOtherLocal_Recreate()
    {
        Assert.Equal(DeviceAction.Recreate, PlanDiffer.Diff(Plan, new KernelState { Devices = [Device with { Learning = true }] }).DeviceAction);
        Assert.Equal(DeviceAction.Recreate, PlanDiffer.Diff(Plan, new KernelState { Devices = [Device with { Local = IPAddress.Parse("192.0.2.99") }] }).DeviceAction);
    }

    [Fact]
    public void Diff_LearningWantedButOff_RecreateNamingLearning()
    {
        KernelPlan learning = VxlanBackend.Plan(Leases.Vxlan with { Learning = true }, Leases.Own,
            [Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02")], Leases.Eth0, Leases.Mac("0a:00:00:00:00:01"));

        PlanDiff diff = PlanDiffer.Diff(learning, new KernelState { Devices = [Device] });

        Assert.Equal(DeviceAction.Recreate, diff.DeviceAction);
        Assert.Contains("learning off -> on", diff.DeviceReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_LearningWantedAndOn_NoDeviceAction()
    {
        KernelPlan learning = VxlanBackend.Plan(Leases.Vxlan with { Learning = true }, Leases.Own, [], Leases.Eth0, Leases.Mac("0a:00:00:00:00:01"));

        PlanDiff diff = PlanDiffer.Diff(learning, new KernelState { Devices = [Device with { Learning = true }], Addresses = learning.Addresses });

        Assert.Equal(DeviceAction.None, diff.DeviceAction);
    }

    [Fact]
    public void Diff_DownOrOtherMac_Update()
    {
        PlanDiff down = PlanDiffer.Diff(Plan, new KernelState { Devices = [Device with { IsUp = false }] });
        PlanDiff mac = PlanDiffer.Diff(Plan, new KernelState { Devices = [Device with { Mac = Leases.Mac("02:00:00:00:00:09") }] });

        Assert.Equal(DeviceAction.Update, down.DeviceAction);
        Assert.Equal(DeviceAction.Update, mac.DeviceAction);
        Assert.Contains("02:00:00:00:00:09 -> 0a:00:00:00:00:01", mac.DeviceReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_RouteWithOtherGateway_ReplacedNotDeleted()
    {
        PlannedRoute old = Plan.Routes[0] with { Gateway = IPAddress.Parse("192.0.2.12"), Device = "eth0", OnLink = false };
        PlanDiff diff = PlanDiffer.Diff(Plan, new KernelState { Devices = [Device], Routes = [old] });

        Assert.Equal(Plan.Routes, diff.PutRoutes);
        Assert.Empty(diff.DeleteRoutes);
    }

    [Fact]
    public void Diff_ExtraFdbRemoteForSameMac_Deleted()
    {
        PlannedFdb extra = Plan.Fdb[0] with { Destination = IPAddress.Parse("192.0.2.99") };
        PlanDiff diff = PlanDiffer.Diff(Plan, new KernelState { Devices = [Device], Fdb = [Plan.Fdb[0], extra] });

        Assert.Equal([extra], diff.DeleteFdb);
        Assert.Empty(diff.PutFdb);
    }
}
