using System.Net;
using System.Text.Json;
using Twill.Netlink;
using Twill.Testing;

namespace Twill.Backends.Tests;

/// <summary>The bgp backend's plan (pure) and its ECMP routes against the real kernel.</summary>
public sealed class TorBackendTests : IDisposable
{
    private static readonly Underlay Underlay = new(2, "eth0", 1500, IPAddress.Parse("192.0.2.11"), IPNetwork.Parse("192.0.2.0/24"));
    private static readonly IPAddress Tor1 = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress Tor2 = IPAddress.Parse("192.0.2.2");

    private readonly UnderlayNamespace? _node = UnderlayNamespace.CreateIfRoot("tor");

    public void Dispose() => _node?.Dispose();

    private static (IPNetwork, IReadOnlyList<IPAddress>) Learnt(string prefix, params IPAddress[] hops) => (IPNetwork.Parse(prefix), hops);

    [Fact]
    public void Plan_NoImports_NothingProgrammed_PeersCounted()
    {
        KernelPlan plan = TorBackend.Plan([Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02")], [], Underlay);

        Assert.Equal(0, plan.ObjectCount);
        Assert.Equal(1, plan.PeerCount);
        Assert.Empty(plan.Problems);
    }

    [Fact]
    public void Plan_Imports_OneRouteEach_EcmpForSeveralNextHops_OffSegmentAndOtherFamilySkipped()
    {
        KernelPlan plan = TorBackend.Plan([], [
            Learnt("10.244.200.0/24", Tor1),
            Learnt("10.244.201.0/24", Tor1, Tor2),
            Learnt("10.244.202.0/24", IPAddress.Parse("203.0.113.9")),
            Learnt("fd00:10:244:200::/64", IPAddress.Parse("2001:db8::1")),
        ], Underlay);

        Assert.Equal(
            ["10.244.200.0/24 via 192.0.2.1 dev eth0", "10.244.201.0/24 via 192.0.2.1, 192.0.2.2 dev eth0"],
            plan.Routes.Select(r => r.ToString()));
        PlanProblem problem = Assert.Single(plan.Problems);
        Assert.Equal("10.244.202.0/24", problem.Peer);
        Assert.Contains("203.0.113.9", problem.Message, StringComparison.Ordinal);
        Assert.Equal(new PlannedRoute(IPNetwork.Parse("10.244.201.0/24"), Tor1, "eth0", false) { MoreGateways = [Tor2] }, plan.Routes[1]);
        Assert.NotEqual(new PlannedRoute(IPNetwork.Parse("10.244.201.0/24"), Tor1, "eth0", false), plan.Routes[1]);
    }

    [RootFact]
    public void Reconcile_EcmpRoute_KernelHasBothNextHops_ThenOneThenNone()
    {
        Link eth0 = _node!.Rtnl.GetLink("eth0");
        Underlay underlay = Underlay with { Index = eth0.Index };
        Reconciler reconciler = new(new RtnlKernelPort(_node.Rtnl));

        ReconcileResult both = reconciler.Reconcile(TorBackend.Plan([], [Learnt("10.244.201.0/24", Tor1, Tor2)], underlay));
        JsonElement route = Assert.Single(_node.Ns.IpJson("route", "show", "proto", "84").EnumerateArray());
        string[] hops = [.. route.GetProperty("nexthops").EnumerateArray().Select(h => $"{h.GetProperty("gateway").GetString()} {h.GetProperty("dev").GetString()}")];
        // A second full pass reads the multipath route back as planned: nothing to do.
        ReconcileResult again = reconciler.Reconcile(TorBackend.Plan([], [Learnt("10.244.201.0/24", Tor1, Tor2)], underlay));
        ReconcileResult one = reconciler.Reconcile(TorBackend.Plan([], [Learnt("10.244.201.0/24", Tor2)], underlay));
        JsonElement single = Assert.Single(_node.Ns.IpJson("route", "show", "proto", "84").EnumerateArray());
        ReconcileResult none = reconciler.Reconcile(TorBackend.Plan([], [], underlay));

        Assert.True(both.Converged, string.Join("; ", both.Errors));
        Assert.Equal("10.244.201.0/24", route.GetProperty("dst").GetString());
        Assert.Equal(["192.0.2.1 eth0", "192.0.2.2 eth0"], hops);
        Assert.Equal(0, again.Applied);
        Assert.True(one.Converged, string.Join("; ", one.Errors));
        Assert.Equal("192.0.2.2", single.GetProperty("gateway").GetString());
        Assert.True(none.Converged);
        Assert.Empty(_node.Ns.IpJson("route", "show", "proto", "84").EnumerateArray());
    }
}
