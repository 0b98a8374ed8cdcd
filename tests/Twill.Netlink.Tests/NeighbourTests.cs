using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using Twill.Testing;

namespace Twill.Netlink.Tests;

public sealed class NeighbourTests
{
    private static Link Vxlan(Scene s)
    {
        Link ul = s.Rtnl.AddVeth("ul0", "ul1");
        s.Rtnl.AddAddress(ul.Index, IPAddress.Parse("192.0.2.1"), 24);
        Link vx = s.Rtnl.AddVxlan(new VxlanSpec { Name = "vx0", Vni = 1, Local = IPAddress.Parse("192.0.2.1"), UnderlayIndex = ul.Index });
        s.Rtnl.SetLinkUp(ul.Index);
        s.Rtnl.SetLinkUp(vx.Index);
        return vx;
    }

    [RootFact]
    public void ReplaceNeighbour_PermanentV4AndV6_MatchesIpAndDeletes()
    {
        using Scene s = new("nb");
        Link vx = Vxlan(s);
        Neighbour v4 = new(vx.Index, IPAddress.Parse("10.244.3.0"), PhysicalAddress.Parse("02-00-00-00-03-00"));
        Neighbour v6 = new(vx.Index, IPAddress.Parse("2001:db8:3::"), PhysicalAddress.Parse("02-00-00-00-03-06"));

        s.Rtnl.ReplaceNeighbour(v4);
        s.Rtnl.ReplaceNeighbour(v4);
        s.Rtnl.ReplaceNeighbour(v6);

        JsonElement j = Assert.Single(s.Ns.IpJson("-4", "neigh", "show", "dev", "vx0").EnumerateArray());
        Assert.Equal("10.244.3.0", j.GetProperty("dst").GetString());
        Assert.Equal("02:00:00:00:03:00", j.GetProperty("lladdr").GetString());
        Assert.Equal("PERMANENT", j.GetProperty("state")[0].GetString());
        Assert.Equal(v4, Assert.Single(s.Rtnl.DumpNeighbours(AddressFamily.InterNetwork, vx.Index)));
        Assert.Contains(v6, s.Rtnl.DumpNeighbours(AddressFamily.InterNetworkV6, vx.Index));
        Assert.Contains("2001:db8:3::", s.Ns.Ip("-6", "neigh", "show", "dev", "vx0"), StringComparison.Ordinal);

        s.Rtnl.DeleteNeighbour(v4);
        s.Rtnl.DeleteNeighbour(v6);
        Assert.Equal(0, s.Ns.IpJson("-4", "neigh", "show", "dev", "vx0").GetArrayLength());
        Assert.DoesNotContain(s.Rtnl.DumpNeighbours(AddressFamily.InterNetworkV6, vx.Index), n => n.State == NeighbourState.Permanent);
        Assert.True(Assert.Throws<NetlinkException>(() => s.Rtnl.DeleteNeighbour(v4)).IsNotFound);
    }

    [RootFact]
    public void AppendFdb_SelfPermanentWithPortVni_MatchesBridgeFdbShow()
    {
        using Scene s = new("fdb");
        Link vx = Vxlan(s);
        // Several destinations per MAC are kept only for the all-zeros (flood) MAC on this kernel.
        PhysicalAddress mac = PhysicalAddress.Parse("00-00-00-00-00-00");

        s.Rtnl.AppendFdb(vx.Index, mac, IPAddress.Parse("192.0.2.4"));
        s.Rtnl.AppendFdb(new FdbEntry(vx.Index, mac) { Destination = IPAddress.Parse("198.51.100.4"), Port = 8472, Vni = 77 });

        JsonElement[] shown = [.. JsonDocument.Parse(Tool.Check("bridge", "-n", s.Ns.Name, "-j", "fdb", "show", "dev", "vx0")).RootElement
            .EnumerateArray().Where(e => e.GetProperty("mac").GetString() == "00:00:00:00:00:00")];
        Assert.Equal(2, shown.Length);
        JsonElement second = shown.Single(e => e.GetProperty("dst").GetString() == "198.51.100.4");
        Assert.Equal(8472, second.GetProperty("port").GetInt32());
        Assert.Equal(77, second.GetProperty("vni").GetInt32());
        Assert.Equal("permanent", second.GetProperty("state").GetString());
        Assert.Contains("self", second.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));

        FdbEntry[] dumped = [.. s.Rtnl.DumpFdb(vx.Index).Where(e => e.Mac.Equals(mac))];
        Assert.Equal(2, dumped.Length);
        FdbEntry read = dumped.Single(e => e.Destination!.Equals(IPAddress.Parse("198.51.100.4")));
        Assert.Equal((8472, 77, NeighbourState.Permanent), (read.Port, read.Vni, read.State));
        Assert.True(read.Flags.HasFlag(NeighbourFlags.Self));

        s.Rtnl.DeleteFdb(new FdbEntry(vx.Index, mac) { Destination = IPAddress.Parse("192.0.2.4") });
        Assert.Single(s.Rtnl.DumpFdb(vx.Index), e => e.Mac.Equals(mac));
        PhysicalAddress unicast = PhysicalAddress.Parse("02-00-00-00-04-01");
        s.Rtnl.AppendFdb(vx.Index, unicast, IPAddress.Parse("192.0.2.5"));
        s.Rtnl.ReplaceFdb(new FdbEntry(vx.Index, unicast) { Destination = IPAddress.Parse("203.0.113.4") });
        FdbEntry replaced = Assert.Single(s.Rtnl.DumpFdb(vx.Index), e => e.Mac.Equals(unicast));
        Assert.Equal(IPAddress.Parse("203.0.113.4"), replaced.Destination);
        Assert.Contains("02:00:00:00:04:01 dst 203.0.113.4 self permanent", Tool.Check("bridge", "-n", s.Ns.Name, "fdb", "show", "dev", "vx0"), StringComparison.Ordinal);
        NetlinkException e = Assert.Throws<NetlinkException>(() => s.Rtnl.ReplaceFdb(new FdbEntry(vx.Index, mac) { Destination = IPAddress.Parse("203.0.113.4") }));
        Assert.Equal(Errno.EOPNOTSUPP, e.Errno);
        Assert.Equal("Cannot replace non-unicast fdb entries", e.KernelMessage);
    }
}
