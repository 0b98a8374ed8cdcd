using System.Net;
using System.Text.Json;
using Twill.Cni.Plugins.HostLocal;
using Twill.Cni.Protocol;

namespace Twill.Cni.Tests;

public sealed class HostLocalTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Conf(string ranges, string version = "1.0.0", string extra = "") =>
        $$$"""{"cniVersion":"{{{version}}}","name":"net1","type":"host-local","ipam":{"type":"host-local","ranges":{{{ranges}}},"dataDir":"{{{_dir.Path}}}"{{{extra}}}}}""";

    private static Host.Output Add(string conf, string id, string ifName = "eth0", string? args = null) =>
        Host.Run(new HostLocalPlugin(), "ADD", conf, containerId: id, ifName: ifName, cniArgs: args);

    private static string FirstAddress(Host.Output o)
    {
        Assert.True(o.ExitCode == 0, o.Stdout);
        return o.Json.GetProperty("ips")[0].GetProperty("address").GetString()!;
    }

    [Fact]
    public void Add_FirstCall_TakesDotTwoAndWritesReferenceFiles()
    {
        string conf = Conf("""[[{"subnet":"10.244.3.0/24"}]]""");
        Host.Output o = Add(conf, "abc");
        Assert.Equal("10.244.3.2/24", FirstAddress(o));
        Assert.Equal("10.244.3.1", o.Json.GetProperty("ips")[0].GetProperty("gateway").GetString());
        string dir = Path.Combine(_dir.Path, "net1");
        Assert.Equal("abc\r\neth0"u8.ToArray(), File.ReadAllBytes(Path.Combine(dir, "10.244.3.2")));
        Assert.Equal("10.244.3.2"u8.ToArray(), File.ReadAllBytes(Path.Combine(dir, "last_reserved_ip.0")));
        Assert.True(File.Exists(Path.Combine(dir, "lock")));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Add_NewNetwork_DirectoryIs0700AndEveryFile0600()
    {
        string conf = Conf("""[[{"subnet":"10.244.3.0/24"}]]""");
        FirstAddress(Add(conf, "abc"));
        string dir = Path.Combine(_dir.Path, "net1");
        // Stricter than the reference's 0755/0644: a pod's address and container ID are root's business.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
        Assert.All(Directory.GetFiles(dir), f => Assert.True(File.GetUnixFileMode(f) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{f}: {File.GetUnixFileMode(f)}"));
    }

    [Fact]
    public void Add_ConfigOverTheStdinLimit_RefusedNothingReserved()
    {
        string pad = new('x', PluginHost.MaxConfigBytes);
        string conf = Conf("""[[{"subnet":"10.244.3.0/24"}]]""", extra: $$$""","pad":"{{{pad}}}" """);
        Host.Output o = Add(conf, "abc");
        Assert.Equal(1, o.ExitCode);
        Assert.Equal(6, o.Json.GetProperty("code").GetInt32());
        Assert.Equal("network config too large", o.Json.GetProperty("msg").GetString());
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "net1")), "an address was reserved from a refused config");
    }

    [Fact]
    public void Add_RoundRobin_ContinuesAfterLastReservedEvenAfterRelease()
    {
        string conf = Conf("""[[{"subnet":"10.244.3.0/24"}]]""");
        Assert.Equal("10.244.3.2/24", FirstAddress(Add(conf, "a")));
        Assert.Equal("10.244.3.3/24", FirstAddress(Add(conf, "b")));
        Assert.Equal(0, Host.Run(new HostLocalPlugin(), "DEL", conf, containerId: "a").ExitCode);
        Assert.Equal("10.244.3.4/24", FirstAddress(Add(conf, "c")));
    }

    [Fact]
    public void Add_SameContainerTwice_IsRefusedAsDuplicate()
    {
        string conf = Conf("""[[{"subnet":"10.244.3.0/24"}]]""");
        FirstAddress(Add(conf, "a"));
        Host.Output o = Add(conf, "a");
        Assert.Equal(1, o.ExitCode);
        Assert.Equal("failed to allocate for range 0: 10.244.3.2 has been allocated to a, duplicate allocation is not allowed", o.Json.GetProperty("msg").GetString());
    }

    [Fact]
    public void Add_Exhausted_ReportsRangeSet()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/29","rangeStart":"10.9.0.2","rangeEnd":"10.9.0.3"}]]""");
        FirstAddress(Add(conf, "a"));
        FirstAddress(Add(conf, "b"));
        Host.Output o = Add(conf, "c");
        Assert.Equal(1, o.ExitCode);
        Assert.Equal("failed to allocate for range 0: no IP addresses available in range set: 10.9.0.2-10.9.0.3", o.Json.GetProperty("msg").GetString());
    }

    [Fact]
    public void Add_WrapsAroundAndSkipsGateway()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/29"}]]"""); // .1 gateway, .2-.6 usable
        List<string> got = [];
        for (int i = 0; i < 5; i++)
        {
            got.Add(FirstAddress(Add(conf, "p" + i)));
        }
        Assert.Equal(["10.9.0.2/29", "10.9.0.3/29", "10.9.0.4/29", "10.9.0.5/29", "10.9.0.6/29"], got);
        Host.Run(new HostLocalPlugin(), "DEL", conf, containerId: "p1");
        Assert.Equal("10.9.0.3/29", FirstAddress(Add(conf, "again")));
    }

    [Fact]
    public void Add_RequestedIpInArgs_IsTakenAndGatewayRefused()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/24"}]]""");
        Assert.Equal("10.9.0.77/24", FirstAddress(Add(conf, "a", args: "IP=10.9.0.77")));
        Host.Output gw = Add(conf, "b", args: "IP=10.9.0.1");
        Assert.Contains("requested ip 10.9.0.1 is subnet's gateway", gw.Json.GetProperty("msg").GetString(), StringComparison.Ordinal);
        Host.Output taken = Add(conf, "c", args: "IP=10.9.0.77");
        Assert.Contains("requested IP address 10.9.0.77 is not available", taken.Json.GetProperty("msg").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Add_RequestedIpInRuntimeConfig_IsTaken()
    {
        string conf = $$$"""{"cniVersion":"1.0.0","name":"net1","type":"host-local","runtimeConfig":{"ips":["10.9.0.50/24"]},"ipam":{"type":"host-local","ranges":[[{"subnet":"10.9.0.0/24"}]],"dataDir":"{{{_dir.Path}}}"}}""";
        Assert.Equal("10.9.0.50/24", FirstAddress(Add(conf, "a")));
    }

    [Fact]
    public void Add_RequestedIpOutsideEveryRange_FailsAndReleases()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/24"}]]""");
        Host.Output o = Add(conf, "a", args: "IP=10.8.0.5");
        Assert.Equal("failed to allocate all requested IPs: 10.8.0.5", o.Json.GetProperty("msg").GetString());
        Assert.Single(Directory.GetFiles(Path.Combine(_dir.Path, "net1")), f => f.EndsWith("lock", StringComparison.Ordinal));
    }

    [Fact]
    public void Add_DualStack_OneAddressPerRangeSet()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/24"}],[{"subnet":"fd00:10:9::/64"}]]""", extra: ""","routes":[{"dst":"0.0.0.0/0"}]""");
        Host.Output o = Add(conf, "a");
        JsonElement ips = o.Json.GetProperty("ips");
        Assert.Equal("10.9.0.2/24", ips[0].GetProperty("address").GetString());
        Assert.Equal("fd00:10:9::2/64", ips[1].GetProperty("address").GetString());
        Assert.Equal("fd00:10:9::1", ips[1].GetProperty("gateway").GetString());
        Assert.True(File.Exists(Path.Combine(_dir.Path, "net1", "last_reserved_ip.1")));
        Assert.Equal("0.0.0.0/0", o.Json.GetProperty("routes")[0].GetProperty("dst").GetString());
    }

    [Fact]
    public void Add_MultipleRangesInSet_MovesToNextRange()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/30"},{"subnet":"10.9.1.0/30"}]]""");
        Assert.Equal("10.9.0.2/30", FirstAddress(Add(conf, "a")));
        Assert.Equal("10.9.1.2/30", FirstAddress(Add(conf, "b")));
        Assert.Equal("10.9.1.1", Add(conf, "c").Json.GetProperty("msg").GetString() is { } m && m.Contains("no IP addresses available in range set: 10.9.0.1-10.9.0.2,10.9.1.1-10.9.1.2", StringComparison.Ordinal) ? "10.9.1.1" : "bad");
    }

    [Fact]
    public void Add_ResolvConf_FillsDns()
    {
        string resolv = Path.Combine(_dir.Path, "resolv.conf");
        File.WriteAllText(resolv, "# test\nnameserver 192.0.2.53\nsearch a.example b.example\noptions ndots:5\ndomain example\n");
        string conf = Conf("""[[{"subnet":"10.9.0.0/24"}]]""", extra: $$""","resolvConf":"{{resolv}}" """);
        JsonElement dns = Add(conf, "a").Json.GetProperty("dns");
        Assert.Equal("192.0.2.53", dns.GetProperty("nameservers")[0].GetString());
        Assert.Equal("example", dns.GetProperty("domain").GetString());
        Assert.Equal(2, dns.GetProperty("search").GetArrayLength());
        Assert.Equal("ndots:5", dns.GetProperty("options")[0].GetString());
    }

    [Fact]
    public void Del_UnknownContainer_SucceedsAndKeepsOthers()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/24"}]]""");
        FirstAddress(Add(conf, "a"));
        FirstAddress(Add(conf, "a", ifName: "net1"));
        Assert.Equal(0, Host.Run(new HostLocalPlugin(), "DEL", conf, containerId: "nobody").ExitCode);
        Assert.Equal(0, Host.Run(new HostLocalPlugin(), "DEL", conf, containerId: "a", ifName: "eth0").ExitCode);
        Assert.Equal(0, Host.Run(new HostLocalPlugin(), "DEL", conf, containerId: "a", ifName: "eth0").ExitCode);
        string[] left = [.. Directory.GetFiles(Path.Combine(_dir.Path, "net1")).Select(Path.GetFileName).Order()!];
        Assert.Equal(["10.9.0.3", "last_reserved_ip.0", "lock"], left);
    }

    [Fact]
    public void Check_AfterAdd_SucceedsAndFailsAfterDel()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/24"}]]""");
        FirstAddress(Add(conf, "a"));
        Assert.Equal(0, Host.Run(new HostLocalPlugin(), "CHECK", conf, containerId: "a").ExitCode);
        Host.Run(new HostLocalPlugin(), "DEL", conf, containerId: "a");
        Assert.Equal(1, Host.Run(new HostLocalPlugin(), "CHECK", conf, containerId: "a").ExitCode);
    }

    [Fact]
    public void Gc_ReleasesAttachmentsNotListed()
    {
        string conf = Conf("""[[{"subnet":"10.9.0.0/24"}]]""", version: "1.1.0");
        FirstAddress(Add(conf, "keep"));
        FirstAddress(Add(conf, "drop"));
        string gc = conf[..^1] + ""","cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}]}""";
        Assert.Equal(0, Host.Run(new HostLocalPlugin(), "GC", gc).ExitCode);
        string dir = Path.Combine(_dir.Path, "net1");
        Assert.True(File.Exists(Path.Combine(dir, "10.9.0.2")));
        Assert.False(File.Exists(Path.Combine(dir, "10.9.0.3")));
    }

    [Theory]
    [InlineData("""[[{"subnet":"10.9.0.1/24"}]]""", "Network has host bits set")]
    [InlineData("""[[{"subnet":"10.9.0.0/31"}]]""", "too small to allocate from")]
    [InlineData("""[[{"subnet":"10.9.0.0/24","rangeStart":"10.8.0.1"}]]""", "RangeStart 10.8.0.1 not in network 10.9.0.0/24")]
    [InlineData("""[[{"subnet":"10.9.0.0/24"}],[{"subnet":"10.9.0.0/25"}]]""", "range set 0 overlaps with 1")]
    [InlineData("""[]""", "no IP ranges specified")]
    public void Add_BadRanges_AreConfigErrors(string ranges, string message)
    {
        Host.Output o = Add(Conf(ranges), "a");
        Assert.Equal(1, o.ExitCode);
        Assert.Equal(7, o.Json.GetProperty("code").GetInt32());
        Assert.Contains(message, o.Json.GetProperty("msg").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Candidates_FromLastReserved_VisitsEveryAddressOnce()
    {
        IpRange r = IpRange.Canonicalize(new RangeConfig { Subnet = "10.9.0.0/29" });
        using TempDir d = new();
        using DiskStore store = DiskStore.OpenLocked(d.Path, "n");
        Allocator a = new(new RangeSet([r]), store, 0);
        List<string> order = [.. a.Candidates(IPAddress.Parse("10.9.0.4")).Select(c => c.Ip.ToString())];
        Assert.Equal(["10.9.0.5", "10.9.0.6", "10.9.0.2", "10.9.0.3", "10.9.0.4"], order);
    }
}
