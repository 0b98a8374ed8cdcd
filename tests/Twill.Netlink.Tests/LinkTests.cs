using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using Twill.Testing;

namespace Twill.Netlink.Tests;

public sealed class LinkTests
{
    [RootFact]
    public void AddVeth_PeerInOtherNamespace_BothEndsAsIpReports()
    {
        using Scene host = new("vh");
        using Scene pod = new("vp");
        PhysicalAddress mac = PhysicalAddress.Parse("02-11-22-33-44-55");
        PhysicalAddress peerMac = PhysicalAddress.Parse("02-11-22-33-44-66");

        Link veth = host.Rtnl.AddVeth("veth-a", "eth0", pod.Handle, mtu: 1450, mac: mac, peerMac: peerMac);

        JsonElement local = host.LinkJson("veth-a");
        Assert.Equal(veth.Index, local.GetProperty("ifindex").GetInt32());
        Assert.Equal(1450, local.GetProperty("mtu").GetInt32());
        Assert.Equal("02:11:22:33:44:55", local.GetProperty("address").GetString());
        Assert.Equal("veth", local.GetProperty("linkinfo").GetProperty("info_kind").GetString());
        Assert.Equal("veth", veth.Kind);
        Assert.Equal(mac, veth.Mac);
        Assert.NotNull(veth.LinkNetnsId);

        JsonElement peer = pod.LinkJson("eth0");
        Assert.Equal(1450, peer.GetProperty("mtu").GetInt32());
        Assert.Equal("02:11:22:33:44:66", peer.GetProperty("address").GetString());
        Assert.Equal(veth.ParentIndex, peer.GetProperty("ifindex").GetInt32());
        Link podEnd = pod.Rtnl.GetLink("eth0");
        Assert.Equal(veth.Index, podEnd.ParentIndex);
        Assert.Null(host.Rtnl.TryGetLink("eth0"));
    }

    [RootFact]
    public void AddBridge_WithPortHairpinPromisc_MatchesIp()
    {
        using Scene s = new("br");
        Link br = s.Rtnl.AddBridge("cni0", mtu: 1400, mac: PhysicalAddress.Parse("02-00-00-00-00-0b"));
        Link veth = s.Rtnl.AddVeth("vethx", "vethy");

        s.Rtnl.SetMaster(veth.Index, br.Index);
        s.Rtnl.SetHairpin(veth.Index, true);
        s.Rtnl.SetPromiscuous(br.Index, true);

        JsonElement brJson = s.LinkJson("cni0");
        Assert.Equal("bridge", brJson.GetProperty("linkinfo").GetProperty("info_kind").GetString());
        Assert.Equal("02:00:00:00:00:0b", brJson.GetProperty("address").GetString());
        Assert.Contains("PROMISC", brJson.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        JsonElement port = s.LinkJson("vethx");
        Assert.Equal("cni0", port.GetProperty("master").GetString());
        Assert.True(port.GetProperty("linkinfo").GetProperty("info_slave_data").GetProperty("hairpin").GetBoolean());

        Link read = s.Rtnl.GetLink("vethx");
        Assert.Equal(br.Index, read.MasterIndex);
        Assert.Equal("bridge", read.PortKind);
        Assert.True(read.Hairpin);
        Assert.True(s.Rtnl.GetLink(br.Index).IsPromiscuous);

        s.Rtnl.SetHairpin(veth.Index, false);
        s.Rtnl.SetMaster(veth.Index, 0);
        Assert.False(s.LinkJson("vethx").TryGetProperty("master", out _));
        Assert.Equal(0, s.Rtnl.GetLink("vethx").MasterIndex);
    }

    [RootFact]
    public void AddVxlan_EveryOption_ReadBackMatchesIp()
    {
        using Scene s = new("vx");
        Link underlay = s.Rtnl.AddVeth("ul0", "ul1");
        s.Rtnl.AddAddress(underlay.Index, IPAddress.Parse("192.0.2.1"), 24);
        VxlanSpec spec = new()
        {
            Name = "flannel.1",
            Vni = 4096,
            Local = IPAddress.Parse("192.0.2.1"),
            UnderlayIndex = underlay.Index,
            Port = 8472,
            Learning = false,
            Gbp = true,
            Mtu = 1450,
            Mac = PhysicalAddress.Parse("02-aa-bb-cc-dd-ee"),
            Ttl = 64,
            Tos = 0x10,
        };

        Link vx = s.Rtnl.AddVxlan(spec);

        JsonElement j = s.LinkJson("flannel.1");
        JsonElement data = j.GetProperty("linkinfo").GetProperty("info_data");
        Assert.Equal(4096, data.GetProperty("id").GetInt32());
        Assert.Equal("192.0.2.1", data.GetProperty("local").GetString());
        Assert.Equal("ul0", data.GetProperty("link").GetString());
        Assert.Equal(8472, data.GetProperty("port").GetInt32());
        Assert.False(data.GetProperty("learning").GetBoolean());
        Assert.True(data.GetProperty("gbp").GetBoolean());
        Assert.Equal(64, data.GetProperty("ttl").GetInt32());
        Assert.Equal("0x10", data.GetProperty("tos").GetString());
        Assert.Equal(1450, j.GetProperty("mtu").GetInt32());
        Assert.Equal("02:aa:bb:cc:dd:ee", j.GetProperty("address").GetString());

        Assert.Equal("vxlan", vx.Kind);
        Assert.Equal(spec, vx.Vxlan);
    }

    [RootFact]
    public void AddVxlan_Ipv6LocalWithLearning_MatchesIp()
    {
        using Scene s = new("vx6");
        Link vx = s.Rtnl.AddVxlan(new VxlanSpec { Name = "vx6", Vni = 7, Local = IPAddress.Parse("2001:db8::1"), Learning = true });

        JsonElement data = s.LinkJson("vx6").GetProperty("linkinfo").GetProperty("info_data");
        Assert.Equal("2001:db8::1", data.GetProperty("local6").GetString());
        Assert.True(data.GetProperty("learning").GetBoolean());
        Assert.Equal(4789, data.GetProperty("port").GetInt32());
        Assert.False(data.TryGetProperty("gbp", out _));
        Assert.Equal(IPAddress.Parse("2001:db8::1"), vx.Vxlan!.Local);
        Assert.False(vx.Vxlan.Gbp);
    }

    [RootFact]
    public void SetOperations_UpMtuMacNameNetnsDelete_MatchIp()
    {
        using Scene s = new("set");
        using Scene other = new("set2");
        Link l = s.Rtnl.AddVeth("a0", "b0");

        s.Rtnl.SetMtu(l.Index, 1300);
        s.Rtnl.SetMac(l.Index, PhysicalAddress.Parse("02-01-02-03-04-05"));
        s.Rtnl.SetName(l.Index, "renamed0");
        s.Rtnl.SetLinkUp(l.Index);

        JsonElement j = s.LinkJson("renamed0");
        Assert.Equal(1300, j.GetProperty("mtu").GetInt32());
        Assert.Equal("02:01:02:03:04:05", j.GetProperty("address").GetString());
        Assert.Contains("UP", j.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Link read = s.Rtnl.GetLink(l.Index);
        Assert.True(read.IsUp);
        Assert.Equal("renamed0", read.Name);

        s.Rtnl.SetLinkDown(l.Index);
        Assert.DoesNotContain("UP", s.LinkJson("renamed0").GetProperty("flags").EnumerateArray().Select(f => f.GetString()));

        s.Rtnl.SetNamespace(l.Index, other.Handle);
        Assert.Null(s.Rtnl.TryGetLink("renamed0"));
        Assert.Equal(1300, other.LinkJson("renamed0").GetProperty("mtu").GetInt32());

        Link b0 = s.Rtnl.GetLink("b0");
        s.Rtnl.DeleteLink(b0.Index);
        Assert.Equal(0, s.Ns.IpJson("link", "show", "type", "veth").GetArrayLength());
        Assert.Null(other.Rtnl.TryGetLink("renamed0"));
    }

    [RootFact]
    public void DumpLinks_ListsWhatIpLists()
    {
        using Scene s = new("dump");
        s.Rtnl.AddVeth("d0", "d1");
        s.Rtnl.AddBridge("br9");

        IReadOnlyList<Link> links = s.Rtnl.DumpLinks();

        string[] expected = [.. s.Ns.IpJson("link", "show").EnumerateArray().Select(e => e.GetProperty("ifname").GetString()!).Order()];
        Assert.Equal(expected, links.Select(l => l.Name).Order());
        Assert.Equal(LinkFlags.Loopback, links.Single(l => l.Name == "lo").Flags & LinkFlags.Loopback);
    }

    [RootFact]
    public void GetLink_Missing_ThrowsNoSuchDevice()
    {
        using Scene s = new("miss");

        NetlinkException e = Assert.Throws<NetlinkException>(() => s.Rtnl.GetLink("nothere0"));

        Assert.Equal(Errno.ENODEV, e.Errno);
        Assert.True(e.IsNotFound);
        Assert.StartsWith("RTM_GETLINK nothere0: No such device", e.Message, StringComparison.Ordinal);
        Assert.Null(s.Rtnl.TryGetLink(4242));
    }

    [RootFact]
    public void AddBridge_Twice_ThrowsExists()
    {
        using Scene s = new("dup");
        s.Rtnl.AddBridge("brd");

        NetlinkException e = Assert.Throws<NetlinkException>(() => s.Rtnl.AddBridge("brd"));

        Assert.True(e.IsExists);
        Assert.Contains("RTM_NEWLINK bridge brd: File exists", e.Message, StringComparison.Ordinal);
    }
}
