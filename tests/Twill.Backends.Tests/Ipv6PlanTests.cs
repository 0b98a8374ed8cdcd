using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Twill.Backends.Tests;

/// <summary>Plan inputs of the IPv6 family: underlay in 2001:db8::/64, pods in fd00:10:244::/56.</summary>
internal static class Leases6
{
    public static readonly Underlay Eth0 = new(2, "eth0", 1500, IPAddress.Parse("2001:db8::11"), IPNetwork.Parse("2001:db8::/64"));

    public static PeerLease Lease(int n, string? publicIp, string? mac = null, int? vni = 4096, string type = "vxlan") => new()
    {
        Key = $"10.244.{n}.0-24&fd00:10:244:{n}::-64",
        Subnet = IPNetwork.Parse($"fd00:10:244:{n}::/64"),
        PublicIP = publicIp is null ? IPAddress.IPv6Any : IPAddress.Parse(publicIp),
        BackendType = type,
        Vni = type == "vxlan" ? vni : null,
        VtepMac = mac is null ? null : PhysicalAddress.Parse(mac),
    };

    public static PeerLease Own => Lease(1, "2001:db8::11", "0a:00:00:00:06:01");
}

public class Ipv6PlanTests
{
    [Fact]
    public void VxlanPlan_Ipv6Family_FlannelV6DeviceNdpFdbAndOnlinkRoutes()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases6.Own,
            [Leases6.Lease(2, "2001:db8::12", "0a:00:00:00:06:02"), Leases6.Lease(3, "2001:db8::13", "0a:00:00:00:06:03")],
            Leases6.Eth0, Leases.Mac("0a:00:00:00:06:01"));

        Assert.Equal("flannel-v6.4096", plan.Device!.Name);
        Assert.Equal(IPAddress.Parse("2001:db8::11"), plan.Device.Local);
        Assert.Equal(4789, plan.Device.Port);
        Assert.Equal(1430, plan.Device.Mtu);
        Assert.Equal([new PlannedAddress("flannel-v6.4096", IPAddress.Parse("fd00:10:244:1::"), 128)], plan.Addresses);
        Assert.Equal(
            ["fd00:10:244:2:: lladdr 0a:00:00:00:06:02 dev flannel-v6.4096", "fd00:10:244:3:: lladdr 0a:00:00:00:06:03 dev flannel-v6.4096"],
            plan.Neighbours.Select(n => n.ToString()));
        Assert.Equal(
            ["0a:00:00:00:06:02 dst 2001:db8::12 dev flannel-v6.4096", "0a:00:00:00:06:03 dst 2001:db8::13 dev flannel-v6.4096"],
            plan.Fdb.Select(f => f.ToString()));
        Assert.Equal(
            ["fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.4096 onlink", "fd00:10:244:3::/64 via fd00:10:244:3:: dev flannel-v6.4096 onlink"],
            plan.Routes.Select(r => r.ToString()));
        Assert.Equal(2, plan.PeerCount);
        Assert.Empty(plan.Problems);
    }

    [Fact]
    public void VxlanPlan_Ipv6BackendMtu_UsedAsGiven()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan with { Mtu = 1400 }, Leases6.Own, [], Leases6.Eth0);

        Assert.Equal(1400, plan.Device!.Mtu);
    }

    [Fact]
    public void VxlanPlan_Ipv6DirectRoutingPeerOnSegment_RouteViaPublicIpv6()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan with { DirectRouting = true }, Leases6.Own,
            [Leases6.Lease(2, "2001:db8::12", "0a:00:00:00:06:02"), Leases6.Lease(3, "2001:db8:1::13", "0a:00:00:00:06:03")], Leases6.Eth0);

        Assert.Equal(
            ["fd00:10:244:2::/64 via 2001:db8::12 dev eth0", "fd00:10:244:3::/64 via fd00:10:244:3:: dev flannel-v6.4096 onlink"],
            plan.Routes.Select(r => r.ToString()));
        Assert.Single(plan.Fdb);
    }

    [Fact]
    public void VxlanPlan_PeerWithoutPublicIpv6_ReportedNotRouted()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases6.Own, [Leases6.Lease(2, null, "0a:00:00:00:06:02")], Leases6.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Empty(plan.Fdb);
        PlanProblem problem = Assert.Single(plan.Problems);
        Assert.Equal(ProblemSeverity.Error, problem.Severity);
        Assert.Contains("no PublicIPv6", problem.Message, StringComparison.Ordinal);
        Assert.Equal("10.244.2.0-24&fd00:10:244:2::-64", problem.Peer);
    }

    [Fact]
    public void VxlanPlan_PeerOfOtherFamily_ReportedNotRouted()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases6.Own, [Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02")], Leases6.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Contains("not of this node's address family", Assert.Single(plan.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VxlanPlan_Ipv6SubnetOverIpv4Underlay_Throws()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => VxlanBackend.Plan(Leases.Vxlan, Leases6.Own, [], Leases.Eth0));

        Assert.Contains("fd00:10:244:1::/64 is IPv6 but the underlay address 192.0.2.11", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VxlanPlan_PeerWithPublicIpv4InIpv6Input_Reported()
    {
        PeerLease odd = Leases6.Lease(2, "2001:db8::12", "0a:00:00:00:06:02") with { PublicIP = IPAddress.Parse("192.0.2.12") };

        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases6.Own, [odd], Leases6.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Contains("no PublicIPv6 (got 192.0.2.12)", Assert.Single(plan.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VxlanPlan_PeerClaimingOurPublicIpv6_Ignored()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases6.Own, [Leases6.Lease(2, "2001:db8::11", "0a:00:00:00:06:02")], Leases6.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Contains("this node's own", Assert.Single(plan.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VxlanPlan_PeerIpv6SubnetOverlapsOurs_Ignored()
    {
        PeerLease hostile = Leases6.Lease(2, "2001:db8::12", "0a:00:00:00:06:02") with { Subnet = IPNetwork.Parse("fd00:10:244::/56") };

        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases6.Own, [hostile], Leases6.Eth0);

        Assert.Empty(plan.Routes);
        Assert.Contains("overlaps this node's subnet fd00:10:244:1::/64", Assert.Single(plan.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HostGwPlan_Ipv6Family_RouteViaPeerPublicIpv6OnUnderlay()
    {
        KernelPlan plan = HostGwBackend.Plan(Leases.HostGw, Leases6.Lease(1, "2001:db8::11", type: "host-gw"),
            [Leases6.Lease(2, "2001:db8::12", type: "host-gw"), Leases6.Lease(3, "2001:db8:1::13", type: "host-gw")], Leases6.Eth0);

        Assert.Null(plan.Device);
        Assert.Equal(["fd00:10:244:2::/64 via 2001:db8::12 dev eth0"], plan.Routes.Select(r => r.ToString()));
        PlanProblem problem = Assert.Single(plan.Problems);
        Assert.Contains("2001:db8:1::13 is not on eth0's segment 2001:db8::/64", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_DeviceNames_FlannelsPerFamily()
    {
        BackendSettings s = new() { Vni = 1 };

        Assert.Equal("flannel.1", s.DeviceNameFor(AddressFamily.InterNetwork));
        Assert.Equal("flannel-v6.1", s.DeviceNameFor(AddressFamily.InterNetworkV6));
        Assert.Equal("flannel.1", s.DeviceName);
        Assert.Equal(1450, s.OverlayMtu(AddressFamily.InterNetwork, 1500));
        Assert.Equal(1430, s.OverlayMtu(AddressFamily.InterNetworkV6, 1500));
    }

    [Fact]
    public void PlanDiffer_V6PlanAgainstV6State_OnlyV6Changes()
    {
        KernelPlan plan = VxlanBackend.Plan(Leases.Vxlan, Leases6.Own, [Leases6.Lease(2, "2001:db8::12", "0a:00:00:00:06:02")], Leases6.Eth0);
        KernelState state = new()
        {
            Routes = [new PlannedRoute(IPNetwork.Parse("fd00:10:244:9::/64"), IPAddress.Parse("fd00:10:244:9::"), "flannel-v6.4096", true)],
        };

        PlanDiff diff = PlanDiffer.Diff(plan, state);

        Assert.Equal(DeviceAction.Create, diff.DeviceAction);
        Assert.Equal(["fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.4096 onlink"], diff.PutRoutes.Select(r => r.ToString()));
    }
}
