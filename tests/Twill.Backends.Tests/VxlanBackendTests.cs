using System.Net;

namespace Twill.Backends.Tests;

public class VxlanBackendTests
{
    [Fact]
    public void Plan_TwoPeers_NeighbourFdbAndOnlinkRoutePerPeer()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases.Own,
            [Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02"), Leases.Lease(3, "192.0.2.13", "0a:00:00:00:00:03")], Leases.Eth0,
            Leases.Mac("0a:00:00:00:00:01"));

        Assert.Equal("flannel.4096", plan.Device!.Name);
        Assert.Equal(4096, plan.Device.Vni);
        Assert.Equal(4789, plan.Device.Port);
        Assert.Equal(1450, plan.Device.Mtu);
        Assert.Equal(IPAddress.Parse("192.0.2.11"), plan.Device.Local);
        Assert.Equal(2, plan.Device.UnderlayIndex);
        Assert.Equal(Leases.Mac("0a:00:00:00:00:01"), plan.Device.Mac);
        Assert.Equal([new PlannedAddress("flannel.4096", IPAddress.Parse("10.244.1.0"), 32)], plan.Addresses);
        Assert.Equal(
            [new PlannedNeighbour("flannel.4096", IPAddress.Parse("10.244.2.0"), Leases.Mac("0a:00:00:00:00:02")),
             new PlannedNeighbour("flannel.4096", IPAddress.Parse("10.244.3.0"), Leases.Mac("0a:00:00:00:00:03"))],
            plan.Neighbours);
        Assert.Equal(
            [new PlannedFdb("flannel.4096", Leases.Mac("0a:00:00:00:00:02"), IPAddress.Parse("192.0.2.12")),
             new PlannedFdb("flannel.4096", Leases.Mac("0a:00:00:00:00:03"), IPAddress.Parse("192.0.2.13"))],
            plan.Fdb);
        Assert.Equal("10.244.2.0/24 via 10.244.2.0 dev flannel.4096 onlink", plan.Routes[0].ToString());
        Assert.Equal(2, plan.PeerCount);
        Assert.Empty(plan.Problems);
        Assert.Equal(8, plan.ObjectCount);
    }

    [Fact]
    public void Plan_NoPortConfigured_KernelDefault8472AndVni1Name()
    {
        KernelPlan plan = VxlanBackend.Plan(new BackendSettings { Vni = 1 }, Leases.Lease(1, "192.0.2.11", "0a:00:00:00:00:01", vni: 1), [], Leases.Eth0);

        Assert.Equal("flannel.1", plan.Device!.Name);
        Assert.Equal(8472, plan.Device.Port);
        Assert.Null(plan.Device.Mac);
    }

    [Fact]
    public void Plan_ExplicitMtuAndGbp_Carried()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan with { Mtu = 1400, Gbp = true }, Leases.Own, [], Leases.Eth0);

        Assert.Equal(1400, plan.Device!.Mtu);
        Assert.True(plan.Device.Gbp);
    }

    [Fact]
    public void Plan_Learning_CarriedOnlyWhenAsked()
    {
        KernelPlan on = VxlanBackend.Plan(Leases.Vxlan with { Learning = true }, Leases.Own, [], Leases.Eth0);
        KernelPlan off = VxlanBackend.Plan(Leases.Vxlan, Leases.Own, [], Leases.Eth0);

        Assert.True(on.Device!.Learning);
        Assert.False(off.Device!.Learning);
    }

    [Fact]
    public void Plan_OwnLeaseAmongPeers_Skipped()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases.Own, [Leases.Own], Leases.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Empty(plan.Problems);
    }

    [Fact]
    public void Plan_DirectRouting_PeerOnSegmentGetsHostRoutePeerElsewhereOverlay()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan with { DirectRouting = true }, Leases.Own,
            [Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02"), Leases.Lease(3, "198.51.100.13", "0a:00:00:00:00:03")], Leases.Eth0);

        Assert.Equal(["10.244.2.0/24 via 192.0.2.12 dev eth0", "10.244.3.0/24 via 10.244.3.0 dev flannel.4096 onlink"],
            plan.Routes.Select(r => r.ToString()));
        Assert.Single(plan.Neighbours);
        Assert.Single(plan.Fdb);
        Assert.Equal(IPAddress.Parse("198.51.100.13"), plan.Fdb[0].Destination);
    }

    [Fact]
    public void Plan_WindowsFirstPublicationEmptyMac_SkippedQuietly()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases.Own, [Leases.Lease(2, "192.0.2.21", "")], Leases.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Empty(plan.Neighbours);
        PlanProblem problem = Assert.Single(plan.Problems);
        Assert.Equal(ProblemSeverity.Info, problem.Severity);
        Assert.Equal("10.244.2.0-24", problem.Peer);
    }

    [Fact]
    public void Plan_VniMismatch_ErrorNamesPeerAndNoObjects()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases.Own, [Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02", vni: 1)], Leases.Eth0);

        Assert.Empty(plan.Routes);
        PlanProblem problem = Assert.Single(plan.Problems);
        Assert.Equal(ProblemSeverity.Error, problem.Severity);
        Assert.Equal("10.244.2.0-24", problem.Peer);
        Assert.Contains("VNI 1", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_WindowsPeerWithLinuxDefaults_ErrorNamesPeerStillRouted()
    {
        BackendSettings linux = new() { Vni = 1 };
        KernelPlan plan = VxlanBackend.Plan(linux, Leases.Lease(1, "192.0.2.11", "0a:00:00:00:00:01", vni: 1),
            [Leases.Lease(2, "192.0.2.21", "00:15:5d:4a:1c:07", vni: 1, os: PeerOs.Windows)], Leases.Eth0);

        PlanProblem problem = Assert.Single(plan.Problems);
        Assert.Equal(ProblemSeverity.Error, problem.Severity);
        Assert.Contains("Windows", problem.Message, StringComparison.Ordinal);
        Assert.Contains("8472", problem.Message, StringComparison.Ordinal);
        Assert.Single(plan.Routes);
    }

    [Fact]
    public void Plan_WindowsPeerWithSeedValues_NoProblem()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases.Own, [Leases.Lease(2, "192.0.2.21", "00:15:5d:4a:1c:07", os: PeerOs.Windows)], Leases.Eth0);

        Assert.Empty(plan.Problems);
        Assert.Single(plan.Fdb);
    }

    [Fact]
    public void Plan_HostilePeers_IgnoredWithErrors()
    {
        PeerLease overlapping = Leases.Lease(1, "192.0.2.66", "0a:00:00:00:00:66") with { Key = "10.244.0.0-16", Subnet = IPNetwork.Parse("10.244.0.0/16") };
        PeerLease ourIp = Leases.Lease(5, "192.0.2.11", "0a:00:00:00:00:05");
        PeerLease good = Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02");
        PeerLease duplicate = Leases.Lease(2, "192.0.2.77", "0a:00:00:00:00:77") with { Key = "10.244.2.0-24-dup" };

        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases.Own, [overlapping, ourIp, good, duplicate], Leases.Eth0);

        Assert.Equal(["10.244.2.0/24 via 10.244.2.0 dev flannel.4096 onlink"], plan.Routes.Select(r => r.ToString()));
        Assert.Equal(3, plan.Problems.Count(p => p.Severity == ProblemSeverity.Error));
    }

    [Fact]
    public void Plan_HostGwPeerInVxlanCluster_Error()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases.Own, [Leases.Lease(2, "192.0.2.12", type: "host-gw")], Leases.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Contains("host-gw", Assert.Single(plan.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_Rules_WindowsSigns()
    {
        Assert.Equal(PeerOs.Windows, PeerOsRule.Classify(PeerOs.Unknown, seenEmptyVtepMac: true, Leases.Mac("0a:00:00:00:00:02")));
        Assert.Equal(PeerOs.Windows, PeerOsRule.Classify(PeerOs.Unknown, seenEmptyVtepMac: false, Leases.Mac("00:15:5d:4a:1c:07")));
        Assert.Equal(PeerOs.Unknown, PeerOsRule.Classify(PeerOs.Unknown, seenEmptyVtepMac: false, Leases.Mac("12:c6:65:89:b4:e3")));
        Assert.Equal(PeerOs.Linux, PeerOsRule.Classify(PeerOs.Linux, seenEmptyVtepMac: false, Leases.Mac("00:15:5d:4a:1c:07")));
    }
}
