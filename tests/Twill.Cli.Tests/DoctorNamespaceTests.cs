using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Twill.Lab;
using Twill.Leases.Store;
using Twill.Netlink;
using Twill.Os;
using Twill.Testing;
using Xunit.Abstractions;

namespace Twill.Cli.Tests;

/// <summary>
/// The real <c>twill doctor</c> (out/bin/twill, <c>make build</c> first) run inside a namespace this
/// test makes, with the node broken on purpose — sysctls of that namespace, a UDP socket on the VXLAN
/// port, a foreign route in the pod network, an iptables-legacy rule, a stale subnet.env, no conflist
/// and no plugins in temporary directories — then <c>--fix</c>ed, the rest repaired by hand, and
/// clean. The module tables come from a temporary host root (no module is ever loaded); the root
/// namespace's sysctls are read, before and after, and must not change.
/// </summary>
[Trait("Category", "Binary")]
public sealed class DoctorNamespaceTests(ITestOutputHelper output) : IDisposable
{
    private const string OwnLease = """{"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"0a:00:00:00:00:03"}}""";
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-doctor-ns-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private Tool.Result Doctor(TestNetns ns, params string[] args)
    {
        string[] store = args.Any(a => a.StartsWith("--store", StringComparison.Ordinal)) ? [] : ["--store-dir", P("leases")];
        string[] argv = Nsenter.NetNamed(ns.Name,
        [
            TwillBinary.Path, "doctor", "--net-conf", P("net-conf.json"), "--subnet-file", P("subnet.env"), .. store,
            "--cni-conf-dir", P("net.d"), "--cni-bin-dir", P("bin"), "--host-root", P("host"), "--windows", .. args,
        ]);
        Tool.Result r = Tool.Run(argv[0], argv[1..], stdin: null, timeout: TimeSpan.FromSeconds(60));
        output.WriteLine($"$ twill doctor {string.Join(' ', args)} → {r.ExitCode}\n{r.Stdout}{r.Stderr}");
        return r;
    }

    private static Dictionary<string, (string Verdict, string Message, string? Fix)> Checks(Tool.Result r)
    {
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        return doc.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(
            c => c.GetProperty("check").GetString()!,
            c => (c.GetProperty("verdict").GetString()!, c.GetProperty("message").GetString()!, c.GetProperty("fix").GetString()));
    }

    private static string RootSysctls() => string.Join(' ',
        new[] { "net/ipv4/ip_forward", "net/ipv4/conf/all/rp_filter", "net/bridge/bridge-nf-call-iptables" }
            .Select(k => File.Exists("/proc/sys/" + k) ? File.ReadAllText("/proc/sys/" + k).Trim() : "-"));

    private async Task PrepareNodeAsync(TestNetns ns)
    {
        ns.Ip("link", "add", "u0", "type", "veth", "peer", "name", "u0p");
        ns.Ip("addr", "add", "192.0.2.10/24", "dev", "u0");
        ns.Ip("link", "set", "u0", "up");
        ns.Ip("link", "set", "u0p", "up");
        ns.Ip("route", "add", "default", "via", "192.0.2.1", "dev", "u0");
        File.WriteAllText(P("net-conf.json"), SeedConfig.VxlanNetConf);
        Directory.CreateDirectory(P("net.d"));
        Directory.CreateDirectory(P("bin"));
        // The host root's module tables: what the doctor believes is loaded (it loads nothing in this test).
        Directory.CreateDirectory(P("host/sys/module/br_netfilter"));
        Directory.CreateDirectory(P("host/sys/module/vxlan"));
        FileLeaseStore store = new(P("leases"));
        await using (store.ConfigureAwait(false))
        {
            await store.TryCreateAsync("10.244.3.0-24", OwnLease, TimeSpan.FromHours(24), CancellationToken.None);
        }
    }

    [RootFact]
    public async Task Doctor_BrokenNode_ReportsEachCheck_FixFixesTheSafeOnes_ThenClean()
    {
        Assert.True(File.Exists(TwillBinary.Path), $"{TwillBinary.Path} is missing: run `make build` first");
        string rootBefore = RootSysctls();
        using TestNetns ns = new("doctor");
        await PrepareNodeAsync(ns);

        // Break it: forwarding off, strict rp_filter, a stale subnet.env, a route in the pod network,
        // a socket on the VXLAN port, a rule in the other iptables backend.
        ns.Exec("sysctl", "-w", "net.ipv4.ip_forward=0").EnsureSuccess("sysctl ip_forward");
        ns.Exec("sysctl", "-w", "net.ipv4.conf.all.rp_filter=1").EnsureSuccess("sysctl rp_filter");
        bool bridgeNf = ns.Exec("test", "-e", "/proc/sys/net/bridge/bridge-nf-call-iptables").ExitCode == 0;
        if (bridgeNf)
        {
            // Per namespace since Linux 5.3.
            ns.Exec("sysctl", "-w", "net.bridge.bridge-nf-call-iptables=0").EnsureSuccess("sysctl bridge-nf-call-iptables");
        }
        else
        {
            output.WriteLine("br_netfilter is not loaded on this machine: bridge-nf-call-iptables is not exercised (the test loads no module)");
        }
        File.WriteAllText(P("subnet.env"), "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.9.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
        ns.Ip("route", "add", "10.244.7.0/24", "via", "192.0.2.1", "dev", "u0");
        using NetNs handle = NetNs.Open(ns.Path);
        Socket squatter = handle.Run(() =>
        {
            // A socket belongs to the namespace it is created in, whichever thread uses it later.
            Socket s = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Any, 4789));
            return s;
        });
        bool otherBackend = Tool.Run("iptables", "--version").Stdout.Contains("nf_tables", StringComparison.Ordinal)
            && ns.Exec("iptables-legacy", "-A", "FORWARD", "-s", "192.0.2.99/32", "-j", "ACCEPT").ExitCode == 0;
        try
        {
            Tool.Result broken = Doctor(ns, "--json");
            Assert.Equal(2, broken.ExitCode);
            var checks = Checks(broken);
            Assert.Equal("fail", checks["ip_forward"].Verdict);
            Assert.Equal("sysctl -w net.ipv4.ip_forward=1", checks["ip_forward"].Fix);
            Assert.Equal("warn", checks["rp_filter"].Verdict);
            Assert.Equal("sysctl -w net.ipv4.conf.all.rp_filter=2", checks["rp_filter"].Fix);
            if (bridgeNf)
            {
                Assert.Equal("fail", checks["bridge-nf-call-iptables"].Verdict);
                Assert.Equal("sysctl -w net.bridge.bridge-nf-call-iptables=1", checks["bridge-nf-call-iptables"].Fix);
            }
            Assert.Equal("fail", checks["udp port"].Verdict);
            Assert.Contains($"(pid {Environment.ProcessId})", checks["udp port"].Message, StringComparison.Ordinal);
            Assert.Equal("fail", checks["routes"].Verdict);
            Assert.Equal("ip route del 10.244.7.0/24 via 192.0.2.1 dev u0 (or choose a pod network the node does not use)", checks["routes"].Fix);
            Assert.Equal("fail", checks["subnet.env"].Verdict);
            Assert.Contains("FLANNEL_SUBNET 10.244.9.1/24, should be 10.244.3.1/24", checks["subnet.env"].Message, StringComparison.Ordinal);
            Assert.Equal("fail", checks["cni conflist"].Verdict);
            Assert.Equal("fail", checks["cni plugins"].Verdict);
            Assert.Equal(("ok", "ok", "ok", "ok"), (checks["store"].Verdict, checks["lease"].Verdict, checks["windows"].Verdict, checks["underlay"].Verdict));
            Assert.Equal("u0 192.0.2.10, MTU 1500 → pod MTU 1450 (underlay − VXLAN overhead)", checks["underlay"].Message);
            if (otherBackend)
            {
                Assert.Equal("warn", checks["iptables backend"].Verdict);
                Assert.Contains("the legacy tables hold 1 rules", checks["iptables backend"].Message, StringComparison.Ordinal);
            }

            Tool.Result fixing = Doctor(ns, "--fix");
            Assert.Equal(2, fixing.ExitCode); // the socket and the route are not Twill's to remove
            Assert.Contains("fixed: ip_forward: sysctl -w net.ipv4.ip_forward=1\n", fixing.Stdout, StringComparison.Ordinal);
            Assert.Contains("fixed: rp_filter: sysctl -w net.ipv4.conf.all.rp_filter=2\n", fixing.Stdout, StringComparison.Ordinal);
            Assert.Contains($"fixed: subnet.env: write {P("subnet.env")} (from this node's lease 10.244.3.0/24)\n", fixing.Stdout, StringComparison.Ordinal);
            Assert.Contains($"fixed: cni conflist: write {P("net.d/10-twill.conflist")}", fixing.Stdout, StringComparison.Ordinal);
            Assert.Contains("fixed: cni plugins: cp ", fixing.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("not fixed", fixing.Stdout, StringComparison.Ordinal);
            Assert.Contains("✗ udp port", fixing.Stdout, StringComparison.Ordinal);
            Assert.Contains("✗ routes", fixing.Stdout, StringComparison.Ordinal);
            Assert.Equal("1", ns.Exec("cat", "/proc/sys/net/ipv4/ip_forward").Stdout.Trim());
            Assert.Equal("2", ns.Exec("cat", "/proc/sys/net/ipv4/conf/all/rp_filter").Stdout.Trim());
            Assert.Equal("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n", File.ReadAllText(P("subnet.env")));
            Assert.Equal(SeedConfig.CniConfList, File.ReadAllText(P("net.d/10-twill.conflist")));
            Assert.Equal(["bridge", "flannel", "host-local", "loopback", "portmap"], Directory.GetFiles(P("bin")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            squatter.Dispose();
        }
        ns.Ip("route", "del", "10.244.7.0/24", "via", "192.0.2.1", "dev", "u0");
        if (otherBackend)
        {
            ns.Exec("iptables-legacy", "-D", "FORWARD", "-s", "192.0.2.99/32", "-j", "ACCEPT").EnsureSuccess("iptables-legacy -D");
        }

        Tool.Result clean = Doctor(ns, "--json");
        Assert.True(clean.ExitCode == 0, clean.Stdout);
        Assert.All(Checks(clean), c => Assert.True(c.Value.Verdict == "ok", $"{c.Key}: {c.Value.Message}"));
        Assert.Equal(rootBefore, RootSysctls());
    }

    [RootFact]
    public async Task Doctor_UnreachableStores_FailTheStoreCheck()
    {
        Assert.True(File.Exists(TwillBinary.Path), $"{TwillBinary.Path} is missing: run `make build` first");
        using TestNetns ns = new("doc-store");
        await PrepareNodeAsync(ns);

        // Nothing listens on port 1 of this namespace's loopback.
        Tool.Result etcd = Doctor(ns, "--json", "--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:1", "--store-timeout", "10");
        Assert.Equal(2, etcd.ExitCode);
        var e = Checks(etcd)["store"];
        Assert.Equal("fail", e.Verdict);
        Assert.StartsWith("etcd:http://127.0.0.1:1", e.Message, StringComparison.Ordinal);
        Assert.Contains("etcdctl", e.Fix, StringComparison.Ordinal);

        Tool.Result file = Doctor(ns, "--json", "--store-dir", P("no-such-store"));
        var f = Checks(file)["store"];
        Assert.Equal("fail", f.Verdict);
        Assert.Contains("no such directory", f.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(P("no-such-store")), "the doctor must not create a store");
    }
}
