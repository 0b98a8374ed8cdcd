using System.Net;
using System.Net.Sockets;
using Twill.Backends;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Agent.Tests;

/// <summary>The agent's pure dual-stack pieces: leases into per-family plan inputs, and the underlay choice.</summary>
public class Ipv6PiecesTests
{
    private const string DualKey = "10.244.2.0-24&fd00:10:244:2::-64";

    private static Leases.Lease Lease(string key, string value) =>
        Leases.Lease.TryFromRecord(new Leases.Store.LeaseRecord(key, value, DateTimeOffset.UtcNow.AddHours(1), 1), out Leases.Lease? l, out string? e)
            ? l : throw new InvalidOperationException(e);

    private static readonly Leases.Lease Dual = Lease(DualKey,
        """{"PublicIP":"192.0.2.12","PublicIPv6":"2001:db8::12","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:02"},"BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:06:02"}}""");

    [Fact]
    public void Convert_DualStackLease_OneInputPerFamilyFromFlannelsFields()
    {
        PeerLeases peers = new();

        PeerLease v4 = peers.Convert(Dual, AddressFamily.InterNetwork)!;
        PeerLease v6 = peers.Convert(Dual, AddressFamily.InterNetworkV6)!;

        Assert.Equal(IPNetwork.Parse("10.244.2.0/24"), v4.Subnet);
        Assert.Equal(IPAddress.Parse("192.0.2.12"), v4.PublicIP);
        Assert.Equal("0a:00:00:00:00:02", v4.VtepMac!.ToColonString());
        Assert.Equal(IPNetwork.Parse("fd00:10:244:2::/64"), v6.Subnet);
        Assert.Equal(IPAddress.Parse("2001:db8::12"), v6.PublicIP);
        Assert.Equal("0a:00:00:00:06:02", v6.VtepMac!.ToColonString());
        Assert.Equal(1, v6.Vni);
        Assert.Equal(DualKey, v6.Key);
        Assert.Equal(AddressFamily.InterNetworkV6, v6.Family);
    }

    [Fact]
    public void Convert_Ipv6OnlyLease_NoIpv4InputAndAnIpv6One()
    {
        Leases.Lease only6 = Lease("0.0.0.0-0&fd00:10:244:3::-64",
            """{"PublicIP":"0.0.0.0","PublicIPv6":"2001:db8::13","BackendType":"vxlan","BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:06:03"}}""");
        PeerLeases peers = new();

        Assert.Null(peers.Convert(only6));
        PeerLease v6 = peers.Convert(only6, AddressFamily.InterNetworkV6)!;
        Assert.Equal(IPNetwork.Parse("fd00:10:244:3::/64"), v6.Subnet);
        Assert.Equal(IPAddress.Parse("2001:db8::13"), v6.PublicIP);
    }

    [Fact]
    public void Convert_Ipv4OnlyLease_NoIpv6Input()
    {
        Leases.Lease only4 = Lease("10.244.4.0-24", """{"PublicIP":"192.0.2.14","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:04"}}""");

        Assert.Null(new PeerLeases().Convert(only4, AddressFamily.InterNetworkV6));
    }

    [Fact]
    public void Convert_Ipv6SubnetWithoutPublicIpv6_UnspecifiedSoThePlanReportsIt()
    {
        Leases.Lease noPublic6 = Lease(DualKey,
            """{"PublicIP":"192.0.2.12","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:02"}}""");
        PeerLease v6 = new PeerLeases().Convert(noPublic6, AddressFamily.InterNetworkV6)!;
        PeerLease own = new()
        {
            Key = "10.244.1.0-24&fd00:10:244:1::-64",
            Subnet = IPNetwork.Parse("fd00:10:244:1::/64"),
            PublicIP = IPAddress.Parse("2001:db8::11"),
            Vni = 1,
        };

        KernelPlan plan = VxlanBackend.Plan(new BackendSettings { Vni = 1 }, own, [v6],
            new Underlay(2, "eth0", 1500, IPAddress.Parse("2001:db8::11"), IPNetwork.Parse("2001:db8::/64")));

        Assert.Equal(IPAddress.IPv6Any, v6.PublicIP);
        Assert.True(v6.HasNoVtepMac);
        Assert.Empty(plan.Routes);
        Assert.Contains("no PublicIPv6", Assert.Single(plan.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Convert_V6DataWithoutMacThenMac_WindowsRememberedPerFamily()
    {
        PeerLeases peers = new();
        Leases.Lease first = Lease(DualKey,
            """{"PublicIP":"192.0.2.12","PublicIPv6":"2001:db8::12","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"0a:00:00:00:00:02"},"BackendV6Data":{"VNI":4096,"VtepMAC":""}}""");

        PeerLease v6First = peers.Convert(first, AddressFamily.InterNetworkV6)!;
        PeerLease v6Then = peers.Convert(Dual, AddressFamily.InterNetworkV6)!;
        PeerLease v4 = peers.Convert(Dual, AddressFamily.InterNetwork)!;

        Assert.True(v6First.HasNoVtepMac);
        Assert.Equal(PeerOs.Windows, v6Then.Os);
        Assert.Equal(PeerOs.Unknown, v4.Os);
    }

    private static readonly Link Lo = new() { Index = 1, Name = "lo", Mtu = 65536 };
    private static readonly Link Eth0 = new() { Index = 2, Name = "eth0", Mtu = 1500 };
    private static readonly Link Eth1 = new() { Index = 3, Name = "eth1", Mtu = 9000 };

    private static IfAddress Addr(int index, string cidr, RouteScope scope = RouteScope.Universe)
    {
        IPNetwork n = IPNetwork.Parse(cidr);
        string[] parts = cidr.Split('/');
        return new IfAddress(index, IPAddress.Parse(parts[0]), n.PrefixLength) { Scope = scope };
    }

    private static Route Default(string cidr, int index, int metric = 0) => new(IPNetwork.Parse(cidr)) { OutputIndex = index, Metric = metric };

    private static readonly UnderlayFacts Facts = new(
        [Lo, Eth0, Eth1],
        [
            Addr(1, "127.0.0.1/8", RouteScope.Host), Addr(1, "::1/128", RouteScope.Host),
            Addr(2, "192.0.2.11/24"), Addr(2, "fe80::1/64", RouteScope.Link), Addr(2, "2001:db8::11/64"), Addr(2, "2001:db8::99/64"),
            Addr(3, "198.51.100.11/24"), Addr(3, "2001:db8:1::11/64"),
        ],
        [Default("0.0.0.0/0", 2), Default("::/0", 2)]);

    [Fact]
    public void Choose_DualStackDefaultRoutes_SameInterfaceFirstGlobalOfEachFamily()
    {
        UnderlayChoice c = UnderlaySelector.Choose(Facts, new AgentOptions(), enableIPv4: true, enableIPv6: true);

        Assert.Equal("eth0", c.V4!.Name);
        Assert.Equal(IPAddress.Parse("192.0.2.11"), c.PublicIP);
        Assert.Equal("eth0", c.V6!.Name);
        Assert.Equal(IPAddress.Parse("2001:db8::11"), c.V6.Address);
        Assert.Equal(IPNetwork.Parse("2001:db8::/64"), c.V6.OnLink);
        Assert.Equal(IPAddress.Parse("2001:db8::11"), c.PublicIPv6);
    }

    [Fact]
    public void Choose_Ipv6Only_NoIpv4Underlay()
    {
        UnderlayChoice c = UnderlaySelector.Choose(Facts with { Routes = [Default("::/0", 3)] }, new AgentOptions(), enableIPv4: false, enableIPv6: true);

        Assert.Null(c.V4);
        Assert.Null(c.PublicIP);
        Assert.Equal("eth1", c.V6!.Name);
        Assert.Equal(9000, c.V6.Mtu);
        Assert.Equal(IPAddress.Parse("2001:db8:1::11"), c.PublicIPv6);
    }

    [Fact]
    public void Choose_DefaultRoutesOnTwoInterfaces_ErrorNamesBoth()
    {
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() =>
            UnderlaySelector.Choose(Facts with { Routes = [Default("0.0.0.0/0", 2), Default("::/0", 3)] }, new AgentOptions(), true, true));

        Assert.Contains("IPv6 default route leaves by eth1 but the IPv4 one by eth0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_IfaceByIpv6Address_PinsThatAddress()
    {
        UnderlayChoice c = UnderlaySelector.Choose(Facts, new AgentOptions { Ifaces = ["2001:db8::99"] }, true, true);

        Assert.Equal("eth0", c.V6!.Name);
        Assert.Equal(IPAddress.Parse("2001:db8::99"), c.V6.Address);
        Assert.Equal(IPAddress.Parse("192.0.2.11"), c.V4!.Address);
    }

    [Fact]
    public void Choose_IfaceByName_PublicIpv6FlagOverridesWhatPeersAreTold()
    {
        UnderlayChoice c = UnderlaySelector.Choose(Facts, new AgentOptions { Ifaces = ["eth1"], PublicIPv6 = IPAddress.Parse("2001:db8:ffff::1") }, true, true);

        Assert.Equal("eth1", c.V6!.Name);
        Assert.Equal(IPAddress.Parse("2001:db8:1::11"), c.V6.Address);
        Assert.Equal(IPAddress.Parse("2001:db8:ffff::1"), c.PublicIPv6);
        Assert.Equal(IPAddress.Parse("198.51.100.11"), c.PublicIP);
    }

    [Fact]
    public void Choose_IfaceRegexOnAddresses_BothFamiliesMustMatchOneInterface()
    {
        UnderlayChoice c = UnderlaySelector.Choose(Facts, new AgentOptions { IfaceRegexes = ["^(198\\.51\\.100\\.|2001:db8:1::)"] }, true, true);

        Assert.Equal("eth1", c.V4!.Name);
        Assert.Equal(IPAddress.Parse("2001:db8:1::11"), c.V6!.Address);
    }

    [Fact]
    public void Choose_InterfaceWithoutIpv6_ErrorSaysWhichFamiliesWereWanted()
    {
        UnderlayFacts noV6 = Facts with { Addresses = [Addr(2, "192.0.2.11/24"), Addr(2, "fe80::1/64", RouteScope.Link)] };

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() =>
            UnderlaySelector.Choose(noV6, new AgentOptions { Ifaces = ["eth0"] }, true, true));

        Assert.Contains("--iface: none of eth0 is an interface with an IPv4 and IPv6 address here", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PublicIpv6Flag_ParsedAndIpv4Refused()
    {
        AgentOptions o = AgentFlags.Parse(["--public-ipv6", "2001:db8::5"], new Dictionary<string, string>());
        FormatException e = Assert.Throws<FormatException>(() => AgentFlags.Parse(["--public-ipv6=192.0.2.5"], new Dictionary<string, string>()));
        AgentOptions fromEnv = AgentFlags.Parse([], new Dictionary<string, string> { ["TWILL_PUBLIC_IPV6"] = "2001:db8::6" });

        Assert.Equal(IPAddress.Parse("2001:db8::5"), o.PublicIPv6);
        Assert.Contains("--public-ipv6: '192.0.2.5' is not an IPv6 address", e.Message, StringComparison.Ordinal);
        Assert.Equal(IPAddress.Parse("2001:db8::6"), fromEnv.PublicIPv6);
    }
}
