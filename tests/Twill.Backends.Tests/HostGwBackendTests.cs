namespace Twill.Backends.Tests;

public class HostGwBackendTests
{
    [Fact]
    public void Plan_PeersOnSegment_RouteViaPublicIpOnUnderlay()
    {
        KernelPlan plan = HostGwBackend.Plan(Leases.HostGw, Leases.Lease(1, "192.0.2.11", type: "host-gw"),
            [Leases.Lease(3, "192.0.2.13", type: "host-gw"), Leases.Lease(2, "192.0.2.12", type: "host-gw")], Leases.Eth0);

        Assert.Null(plan.Device);
        Assert.Empty(plan.Addresses);
        Assert.Equal(["10.244.2.0/24 via 192.0.2.12 dev eth0", "10.244.3.0/24 via 192.0.2.13 dev eth0"], plan.Routes.Select(r => r.ToString()));
        Assert.Equal(2, plan.PeerCount);
        Assert.Empty(plan.Problems);
    }

    [Fact]
    public void Plan_PeerOffSegment_ProblemNamesPeerNoRoute()
    {
        KernelPlan plan = HostGwBackend.Plan(Leases.HostGw, Leases.Lease(1, "192.0.2.11", type: "host-gw"),
            [Leases.Lease(4, "203.0.113.14", type: "host-gw")], Leases.Eth0);

        Assert.Empty(plan.Routes);
        PlanProblem problem = Assert.Single(plan.Problems);
        Assert.Equal(ProblemSeverity.Error, problem.Severity);
        Assert.Equal("10.244.4.0-24", problem.Peer);
        Assert.Contains("203.0.113.14", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_VxlanPeer_Error()
    {
        KernelPlan plan = HostGwBackend.Plan(Leases.HostGw, Leases.Lease(1, "192.0.2.11", type: "host-gw"),
            [Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02")], Leases.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Single(plan.Problems);
    }
}
