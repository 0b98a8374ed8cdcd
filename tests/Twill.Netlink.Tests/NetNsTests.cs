using Twill.Testing;

namespace Twill.Netlink.Tests;

public sealed class NetNsTests
{
    private static string ThreadNs() => File.ResolveLinkTarget("/proc/thread-self/ns/net", false)!.ToString();

    [RootFact]
    public void Create_Named_VisibleToIpNetnsAndDeleted()
    {
        string name = TestNetns.RunPrefix + "-own";
        try
        {
            using NetNs ns = NetNs.Create(name);

            Assert.Equal(name, ns.Name);
            Assert.Contains(name, Tool.Check("ip", "netns", "list"), StringComparison.Ordinal);
            Assert.Contains("lo", Tool.Check("ip", "-n", name, "link", "show"), StringComparison.Ordinal);
            Assert.Contains(name, NetNs.List());
            // A different namespace from ours.
            string inside = ns.Run(ThreadNs);
            Assert.NotEqual(ThreadNs(), inside);
            Assert.True(NetNs.Delete(name));
            Assert.DoesNotContain(name, Tool.Check("ip", "netns", "list"), StringComparison.Ordinal);
            Assert.False(NetNs.Delete(name));
        }
        finally
        {
            Tool.Run("ip", "netns", "delete", name);
        }
    }

    [RootFact]
    public void Create_Existing_ThrowsExists()
    {
        using TestNetns existing = new("dup");

        NetlinkException e = Assert.Throws<NetlinkException>(() => NetNs.Create(existing.Name));

        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.True(NetNs.Exists(existing.Name));
    }

    [RootFact]
    public void Open_InNamespace_CallerAndThreadPoolStayPut()
    {
        using Scene s = new("thr");
        string before = ThreadNs();
        string poolBefore = Task.Run(ThreadNs).GetAwaiter().GetResult();

        using RtnlConnection c = RtnlConnection.Open(s.Handle);
        Link l = c.AddVeth("t0", "t1");
        string inside = s.Handle.Run(ThreadNs);

        Assert.Equal(before, ThreadNs());
        string[] pool = [.. Enumerable.Range(0, 16).Select(_ => Task.Run(ThreadNs)).Select(t => t.GetAwaiter().GetResult())];
        Assert.All(pool, p => Assert.Equal(poolBefore, p));
        Assert.Equal(before, poolBefore);
        Assert.NotEqual(before, inside);
        Assert.True(l.Index > 0);
        using RtnlConnection here = RtnlConnection.Open();
        Assert.Null(here.TryGetLink("t0"));
    }

    [RootFact]
    public void Run_ThrowingAction_RethrowsOnCaller()
    {
        using Scene s = new("run");

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => s.Handle.Run(() => throw new InvalidOperationException("boom")));

        Assert.Equal("boom", e.Message);
    }

    [RootFact]
    public void Sysctl_WriteRead_InNamespaceOnly()
    {
        using Scene s = new("sysctl");
        string hostForward = Sysctl.Read(null, "net.ipv4.ip_forward");

        Sysctl.Write(s.Handle, "net.ipv4.ip_forward", "1");
        Sysctl.Write(s.Handle, "net/ipv4/conf/lo/proxy_arp", "1");

        Assert.Equal("1", Sysctl.Read(s.Handle, "net.ipv4.ip_forward"));
        Assert.Equal("net.ipv4.ip_forward = 1", s.Ns.Exec("sysctl", "net.ipv4.ip_forward").EnsureSuccess("sysctl").Stdout.Trim());
        Assert.Equal("1", s.Ns.Exec("cat", "/proc/sys/net/ipv4/conf/lo/proxy_arp").Stdout.Trim());
        Assert.Equal(hostForward, Sysctl.Read(null, "net.ipv4.ip_forward"));
    }

    [Fact]
    public void SysctlPathOf_DottedAndSlashed_MapToProcSys()
    {
        Assert.Equal("/proc/sys/net/ipv4/ip_forward", Sysctl.PathOf("net.ipv4.ip_forward"));
        Assert.Equal("/proc/sys/net/ipv4/conf/eth0.100/proxy_arp", Sysctl.PathOf("net/ipv4/conf/eth0.100/proxy_arp"));
        Assert.Throws<ArgumentException>(() => Sysctl.PathOf("net/../../etc/passwd"));
    }
}
