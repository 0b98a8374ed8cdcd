using System.Diagnostics;
using System.Text.Json;
using Twill.Testing;

namespace Twill.Cli.Tests;

/// <summary>
/// The static ToR topology in namespaces: a ToR (bridge br0, 198.51.100.1/24 and 2001:db8:1::1/64,
/// forwarding on) and two nodes on it (eth0 198.51.100.1N/24, 2001:db8:1::1N/64, default routes via
/// the ToR), each with a "pod" address on its loopback (10.244.N.1, fd00:10:244:N::1) that
/// only the ToR's routes can reach. Optionally FRR (zebra + staticd) in the ToR, run as
/// ../shared/reference/frr-tor.md shows (own zserv and vty sockets, never the system service).
/// Dispose stops FRR by PID and deletes the namespaces.
/// </summary>
internal sealed class TorStaticLab : IDisposable
{
    public const string FrrBin = "/usr/lib/frr";
    private readonly List<TestNetns> _all = [];
    private string? _frrDir;

    public TorStaticLab()
    {
        try
        {
            Tor = Add(new TestNetns("tor"));
            // No ICMP redirects: a node told "go straight to the other node" would bypass the ToR, and
            // pings would pass (or outlive a withdrawn route) without the ToR's routes.
            Sysctl(Tor, "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0");
            Tor.Ip("link", "add", "br0", "type", "bridge");
            Tor.Ip("addr", "add", "198.51.100.1/24", "dev", "br0");
            Tor.Ip("addr", "add", "2001:db8:1::1/64", "dev", "br0", "nodad");
            Tor.Ip("link", "set", "br0", "up");
            Sysctl(Tor, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
            Nodes = [Node(1), Node(2)];
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNetns Tor { get; } = null!;

    public IReadOnlyList<TestNetns> Nodes { get; } = [];

    /// <summary>Node n's lease record (file-store key and Flannel's value): its dual-stack pod subnets via its eth0 addresses.</summary>
    public static (string Key, string Value) Lease(int n) =>
        ($"10.244.{n}.0-24&fd00:10:244:{n}::-64", $$"""{"PublicIP":"198.51.100.1{{n}}","PublicIPv6":"2001:db8:1::1{{n}}","BackendType":"bgp"}""");

    private TestNetns Add(TestNetns ns)
    {
        _all.Add(ns);
        return ns;
    }

    private TestNetns Node(int n)
    {
        TestNetns node = Add(new TestNetns($"n{n}"));
        Sysctl(node, "net.ipv4.conf.all.accept_redirects=0", "net.ipv4.conf.default.accept_redirects=0",
            "net.ipv6.conf.all.accept_redirects=0", "net.ipv6.conf.default.accept_redirects=0");
        Tor.Ip("link", "add", $"t{n}", "type", "veth", "peer", "name", "eth0", "netns", node.Name);
        Tor.Ip("link", "set", $"t{n}", "master", "br0", "up");
        node.Ip("addr", "add", $"198.51.100.1{n}/24", "dev", "eth0");
        node.Ip("addr", "add", $"2001:db8:1::1{n}/64", "dev", "eth0", "nodad");
        node.Ip("link", "set", "eth0", "up");
        node.Ip("route", "add", "default", "via", "198.51.100.1");
        node.Ip("-6", "route", "add", "default", "via", "2001:db8:1::1");
        // The "pod" is an address on the node's loopback (no dummy module needed): reachable from the
        // other node only through a route at the ToR.
        node.Ip("addr", "add", $"10.244.{n}.1/32", "dev", "lo");
        node.Ip("addr", "add", $"fd00:10:244:{n}::1/128", "dev", "lo");
        return node;
    }

    private static void Sysctl(TestNetns ns, params string[] settings) =>
        ns.Exec(["sysctl", "-qw", .. settings]).EnsureSuccess($"sysctl in {ns.Name}");

    /// <summary>One ping from node 1's pod address to node 2's (IPv4 or IPv6), through the ToR.</summary>
    /// <summary>Three echo requests, one answer suffices: the first may wait on neighbour discovery at two hops.</summary>
    public bool PodPing(bool ipv6) => ipv6
        ? Nodes[0].Exec("ping", "-6", "-c", "3", "-i", "0.3", "-W", "2", "-I", "fd00:10:244:1::1", "fd00:10:244:2::1").ExitCode == 0
        : Nodes[0].Exec("ping", "-c", "3", "-i", "0.3", "-W", "2", "-I", "10.244.1.1", "10.244.2.1").ExitCode == 0;

    /// <summary>The next hops of the ToR's kernel routes for <paramref name="prefix"/> (`ip -n tor -j route show PREFIX`).</summary>
    public string[] TorGateways(string prefix)
    {
        JsonElement routes = Tor.IpJson(prefix.Contains(':', StringComparison.Ordinal) ? "-6" : "-4", "route", "show", prefix);
        return [.. routes.EnumerateArray().Select(r => r.TryGetProperty("gateway", out JsonElement g) ? g.GetString() ?? "" : "")];
    }

    public static bool FrrInstalled => File.Exists(Path.Combine(FrrBin, "zebra")) && File.Exists(Path.Combine(FrrBin, "staticd"));

    /// <summary>Starts zebra and staticd (FRR's static routes live in staticd since FRR 7) in the ToR, with empty configurations.</summary>
    public void StartFrr()
    {
        if (!FrrInstalled)
        {
            throw new InvalidOperationException("FRR is not installed (Debian package frr; build/install-deps.sh installs it)");
        }
        _frrDir = Path.Combine(Path.GetTempPath(), $"{Tor.Name}-frr");
        Directory.CreateDirectory(Path.Combine(_frrDir, "run"));
        File.WriteAllText(Path.Combine(_frrDir, "zebra.conf"), "hostname tor\n");
        File.WriteAllText(Path.Combine(_frrDir, "staticd.conf"), "hostname tor\n");
        Tool.Check("chown", "-R", "frr:frr", _frrDir);
        foreach (string daemon in new[] { "zebra", "staticd" })
        {
            Tor.Exec(Path.Combine(FrrBin, daemon), "-d", "-u", "frr", "-g", "frr", "-P", "0",
                "-f", Path.Combine(_frrDir, daemon + ".conf"), "-i", Path.Combine(_frrDir, "run", daemon + ".pid"),
                "-z", Path.Combine(_frrDir, "run", "zserv.api"), "--vty_socket", Path.Combine(_frrDir, "run")).EnsureSuccess(daemon);
        }
        Eventually(() => Vtysh("-c", "show ip route").ExitCode == 0 && File.Exists(Path.Combine(_frrDir, "run", "staticd.vty")),
            TimeSpan.FromSeconds(30), "zebra and staticd answering on their vty sockets");
    }

    /// <summary>vtysh against this ToR's daemons only (its own vty socket directory).</summary>
    public Tool.Result Vtysh(params string[] args) =>
        Tool.Run("vtysh", ["--vty_socket", Path.Combine(_frrDir ?? throw new InvalidOperationException("StartFrr first"), "run"), .. args], stdin: null, TimeSpan.FromSeconds(30));

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static void Eventually(Func<bool> condition, TimeSpan timeout, string what)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"not within {timeout.TotalSeconds} s: {what}");
            }
            Thread.Sleep(100);
        }
    }

    private void StopFrr()
    {
        if (_frrDir is null || !Directory.Exists(_frrDir))
        {
            return;
        }
        foreach (string pidFile in Directory.GetFiles(Path.Combine(_frrDir, "run"), "*.pid"))
        {
            if (!int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid))
            {
                continue;
            }
            try
            {
                using Process p = Process.GetProcessById(pid);
                p.Kill();
                p.WaitForExit(5000);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Already gone.
            }
        }
        Directory.Delete(_frrDir, recursive: true);
    }

    public void Dispose()
    {
        try
        {
            StopFrr();
        }
        finally
        {
            foreach (TestNetns ns in _all)
            {
                ns.Dispose();
            }
        }
    }
}
