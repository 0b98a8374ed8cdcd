using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Twill.Testing;

namespace Twill.Netlink.Tests;

public sealed class AddressRouteTests
{
    private static Link UpVeth(Scene s, string name)
    {
        Link l = s.Rtnl.AddVeth(name, name + "p");
        s.Rtnl.SetLinkUp(l.Index);
        s.Rtnl.SetLinkUp(s.Rtnl.GetLink(name + "p").Index);
        return l;
    }

    [RootFact]
    public void AddAddress_Ipv4AndIpv6_DumpAndIpAgree()
    {
        using Scene s = new("addr");
        Link l = UpVeth(s, "e0");

        s.Rtnl.AddAddress(l.Index, IPAddress.Parse("10.244.1.1"), 24);
        s.Rtnl.AddAddress(l.Index, IPAddress.Parse("2001:db8:1::1"), 64, noDad: true);

        JsonElement info = s.Ns.IpJson("addr", "show", "dev", "e0")[0].GetProperty("addr_info");
        string[] fromIp = [.. info.EnumerateArray()
            .Where(a => a.GetProperty("scope").GetString() == "global")
            .Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()}").Order()];
        Assert.Equal(["10.244.1.1/24", "2001:db8:1::1/64"], fromIp);
        IReadOnlyList<IfAddress> dumped = s.Rtnl.DumpAddresses(AddressFamily.Unspecified, l.Index);
        Assert.Contains(dumped, a => a.Address.Equals(IPAddress.Parse("10.244.1.1")) && a.PrefixLength == 24 && a.Label == "e0");
        IfAddress v6 = Assert.Single(dumped, a => a.Address.Equals(IPAddress.Parse("2001:db8:1::1")));
        Assert.True(v6.Flags.HasFlag(AddressFlags.NoDad));
        Assert.False(v6.Flags.HasFlag(AddressFlags.Tentative));
        Assert.All(s.Rtnl.DumpAddresses(AddressFamily.InterNetwork), a => Assert.Equal(AddressFamily.InterNetwork, a.Address.AddressFamily));
    }

    [RootFact]
    public void AddAddress_WithBroadcast_IpShowsBrdAndDumpReadsIt()
    {
        using Scene s = new("addrb");
        Link l = UpVeth(s, "e0");

        s.Rtnl.AddAddress(l.Index, IPAddress.Parse("10.244.1.7"), 24, broadcast: IPAddress.Parse("10.244.1.255"));

        JsonElement a = Assert.Single(s.Ns.IpJson("-4", "addr", "show", "dev", "e0")[0].GetProperty("addr_info").EnumerateArray());
        Assert.Equal("10.244.1.255", a.GetProperty("broadcast").GetString());
        Assert.Equal(IPAddress.Parse("10.244.1.255"), Assert.Single(s.Rtnl.DumpAddresses(AddressFamily.InterNetwork, l.Index)).Broadcast);
    }

    [RootFact]
    public void AddAddress_RecordWithLinkScope_IpShowsScopeLink()
    {
        using Scene s = new("addrs");
        Link l = UpVeth(s, "e0");

        s.Rtnl.AddAddress(new IfAddress(l.Index, IPAddress.Parse("169.254.1.1"), 32) { Scope = RouteScope.Link });

        JsonElement a = Assert.Single(s.Ns.IpJson("-4", "addr", "show", "dev", "e0")[0].GetProperty("addr_info").EnumerateArray());
        Assert.Equal("link", a.GetProperty("scope").GetString());
        Assert.Equal(32, a.GetProperty("prefixlen").GetInt32());
        Assert.Equal(RouteScope.Link, Assert.Single(s.Rtnl.DumpAddresses(AddressFamily.InterNetwork, l.Index)).Scope);
    }

    [RootFact]
    public void AddAddress_Twice_ThrowsExistsAndReplaceSucceeds()
    {
        using Scene s = new("addr2");
        Link l = UpVeth(s, "e0");
        s.Rtnl.AddAddress(l.Index, IPAddress.Parse("10.244.1.1"), 24);

        NetlinkException e = Assert.Throws<NetlinkException>(() => s.Rtnl.AddAddress(l.Index, IPAddress.Parse("10.244.1.1"), 24));
        s.Rtnl.ReplaceAddress(l.Index, IPAddress.Parse("10.244.1.1"), 24);

        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.Equal(1, s.Ns.IpJson("-4", "addr", "show", "dev", "e0")[0].GetProperty("addr_info").GetArrayLength());
    }

    [RootFact]
    public void DeleteAddress_Existing_GoneFromIp()
    {
        using Scene s = new("addr3");
        Link l = UpVeth(s, "e0");
        s.Rtnl.AddAddress(l.Index, IPAddress.Parse("10.244.1.1"), 24);
        s.Rtnl.AddAddress(l.Index, IPAddress.Parse("2001:db8:1::1"), 64, noDad: true);

        s.Rtnl.DeleteAddress(l.Index, IPAddress.Parse("10.244.1.1"), 24);
        s.Rtnl.DeleteAddress(l.Index, IPAddress.Parse("2001:db8:1::1"), 64);

        Assert.DoesNotContain("10.244.1.1", s.Ns.Ip("addr", "show", "dev", "e0"), StringComparison.Ordinal);
        Assert.DoesNotContain("2001:db8:1::1", s.Ns.Ip("addr", "show", "dev", "e0"), StringComparison.Ordinal);
        Assert.Empty(s.Rtnl.DumpAddresses(AddressFamily.InterNetwork, l.Index));
    }

    [RootFact]
    public void ReplaceRoute_GatewayOnlinkTableMetricProto_MatchesIp()
    {
        using Scene s = new("rt");
        Link l = UpVeth(s, "e0");
        Route route = new(IPNetwork.Parse("10.244.2.0/24"))
        {
            Gateway = IPAddress.Parse("10.244.2.0"),
            OutputIndex = l.Index,
            OnLink = true,
            Table = 100,
            Metric = 7,
            Protocol = RouteProtocol.Twill,
        };

        s.Rtnl.ReplaceRoute(route);
        s.Rtnl.ReplaceRoute(route); // idempotent

        JsonElement j = Assert.Single(s.Ns.IpJson("route", "show", "table", "100").EnumerateArray());
        Assert.Equal("10.244.2.0/24", j.GetProperty("dst").GetString());
        Assert.Equal("10.244.2.0", j.GetProperty("gateway").GetString());
        Assert.Equal("e0", j.GetProperty("dev").GetString());
        Assert.Equal("84", j.GetProperty("protocol").GetString());
        Assert.Equal(7, j.GetProperty("metric").GetInt32());
        Assert.Contains("onlink", j.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));

        Route read = Assert.Single(s.Rtnl.DumpRoutes(AddressFamily.InterNetwork, table: 100));
        Assert.Equal(route with { Scope = RouteScope.Universe }, read);
        Assert.Single(s.Rtnl.DumpRoutes(AddressFamily.InterNetwork, protocol: RouteProtocol.Twill));
        Assert.Empty(s.Rtnl.DumpRoutes(AddressFamily.InterNetwork, table: RouteTable.Main, protocol: RouteProtocol.Twill));

        s.Rtnl.DeleteRoute(route);
        Assert.Equal(0, s.Ns.IpJson("route", "show", "table", "100").GetArrayLength());
        NetlinkException e = Assert.Throws<NetlinkException>(() => s.Rtnl.DeleteRoute(route));
        Assert.True(e.IsNotFound);
    }

    [RootFact]
    public void ReplaceRoute_DeviceRouteAndIpv6_ScopeLinkLikeIp()
    {
        using Scene s = new("rt2");
        Link l = UpVeth(s, "e0");
        s.Rtnl.AddAddress(l.Index, IPAddress.Parse("2001:db8:1::1"), 64, noDad: true);

        s.Rtnl.ReplaceRoute(new Route(IPNetwork.Parse("10.244.0.0/16")) { OutputIndex = l.Index, Protocol = RouteProtocol.Twill });
        s.Rtnl.ReplaceRoute(new Route(IPNetwork.Parse("2001:db8:2::/64")) { Gateway = IPAddress.Parse("2001:db8:1::2"), Metric = 1024, Protocol = RouteProtocol.Twill });

        JsonElement v4 = Assert.Single(s.Ns.IpJson("route", "show", "proto", "84").EnumerateArray());
        Assert.Equal("link", v4.GetProperty("scope").GetString());
        Assert.Equal("10.244.0.0/16", v4.GetProperty("dst").GetString());
        JsonElement v6 = Assert.Single(s.Ns.IpJson("-6", "route", "show", "proto", "84").EnumerateArray());
        Assert.Equal("2001:db8:1::2", v6.GetProperty("gateway").GetString());
        Assert.Equal("e0", v6.GetProperty("dev").GetString());
        Route read6 = Assert.Single(s.Rtnl.DumpRoutes(AddressFamily.InterNetworkV6, protocol: RouteProtocol.Twill));
        Assert.Equal(l.Index, read6.OutputIndex);
        Assert.Equal(1024, read6.Metric);
        Assert.Equal(RouteScope.Link, Assert.Single(s.Rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main, RouteProtocol.Twill)).Scope);
    }

    [RootFact]
    public void AddRoute_UnreachableGateway_ErrorCarriesExtendedAck()
    {
        using Scene s = new("rterr");
        UpVeth(s, "e0");

        NetlinkException e = Assert.Throws<NetlinkException>(() =>
            s.Rtnl.AddRoute(new Route(IPNetwork.Parse("10.244.2.0/24")) { Gateway = IPAddress.Parse("198.51.100.7") }));

        Assert.Equal(Errno.ENETUNREACH, e.Errno);
        Assert.False(string.IsNullOrEmpty(e.KernelMessage));
        Assert.Equal($"RTM_NEWROUTE 10.244.2.0/24 via 198.51.100.7: Network is unreachable ({e.KernelMessage})", e.Message);
        Assert.Contains("gateway", e.KernelMessage, StringComparison.OrdinalIgnoreCase);
    }
}
