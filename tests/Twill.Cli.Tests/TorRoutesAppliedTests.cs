using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Cli.Tests;

/// <summary>
/// <c>twill tor routes</c> output applied to a real ToR and proven to route: the <c>linux</c> format
/// through <c>ip -batch</c> in the ToR namespace, the <c>frr</c> format through <c>vtysh -f</c> to a real
/// FRR there; then <c>--watch</c>'s lines, applied as they come, take a departed node's routes away.
/// Needs root and the published binary (<c>make build</c>).
/// </summary>
[Trait("Category", "Binary")]
public sealed class TorRoutesAppliedTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-tor-applied-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task LeasesAsync(params int[] nodes)
    {
        FileLeaseStore store = new(_dir);
        await using (store.ConfigureAwait(false))
        {
            foreach (int n in nodes)
            {
                (string key, string value) = TorStaticLab.Lease(n);
                Assert.NotNull(await store.TryCreateAsync(key, value, TimeSpan.FromHours(1), CancellationToken.None));
            }
        }
    }

    private async Task DeleteLeaseAsync(int n)
    {
        FileLeaseStore store = new(_dir);
        await using (store.ConfigureAwait(false))
        {
            Assert.True(await store.DeleteAsync(TorStaticLab.Lease(n).Key, CancellationToken.None));
        }
    }

    private string Routes(string format)
    {
        Tool.Result r = Tool.Run(TwillBinary.Path, "tor", "routes", "--format", format, "--store-dir", _dir);
        Assert.True(r.ExitCode == 0, $"twill tor routes --format {format} exited {r.ExitCode}: {r.Stderr}");
        return r.Stdout;
    }

    private static void AssertRoutesAndPings(TorStaticLab lab)
    {
        Assert.Equal(["198.51.100.11"], lab.TorGateways("10.244.1.0/24"));
        Assert.Equal(["198.51.100.12"], lab.TorGateways("10.244.2.0/24"));
        Assert.Equal(["2001:db8:1::12"], lab.TorGateways("fd00:10:244:2::/64"));
        Assert.True(lab.PodPing(ipv6: false), "pod 10.244.1.1 on node 1 cannot ping 10.244.2.1 on node 2 through the ToR");
        Assert.True(lab.PodPing(ipv6: true), "pod fd00:10:244:1::1 on node 1 cannot ping fd00:10:244:2::1 on node 2 through the ToR");
    }

    [RootFact]
    public async Task Linux_AppliedWithIpBatch_RoutesPodsAndWatchWithdrawsADepartedNode()
    {
        using TorStaticLab lab = new();
        await LeasesAsync(1, 2);
        Assert.False(lab.PodPing(ipv6: false), "pods reach each other before the ToR has routes: the test proves nothing");

        Tool.Run("ip", ["-n", lab.Tor.Name, "-batch", "-"], Routes("linux")).EnsureSuccess("ip -batch of twill tor routes --format linux");

        AssertRoutesAndPings(lab);
        Assert.Contains("proto static", lab.Tor.Ip("route", "show", "10.244.1.0/24"), StringComparison.Ordinal);

        // The watch's lines fed to the ToR as they come: the first are the current routes again (replace: harmless).
        using TorWatchProcess watch = new(["tor", "routes", "--format", "linux", "--watch", "--store-dir", _dir],
            line => Tool.Run("ip", ["-n", lab.Tor.Name, "-force", "-batch", "-"], line + "\n"));
        watch.WaitForLines(4, Deadline);
        await DeleteLeaseAsync(2);
        TorStaticLab.Eventually(() => lab.TorGateways("10.244.2.0/24").Length == 0 && lab.TorGateways("fd00:10:244:2::/64").Length == 0,
            Deadline, "node 2's routes gone from the ToR after its lease was deleted");
        Assert.Equal(["198.51.100.11"], lab.TorGateways("10.244.1.0/24"));
        Assert.False(lab.PodPing(ipv6: false), "node 2's pods still reachable after its routes were withdrawn");
    }

    [RootFact]
    public async Task Frr_AppliedWithVtysh_RoutesPodsAndWatchWithdrawsADepartedNode()
    {
        using TorStaticLab lab = new();
        lab.StartFrr();
        await LeasesAsync(1, 2);
        string file = Path.Combine(_dir, "routes.frr");
        File.WriteAllText(file, Routes("frr"));

        Tool.Result applied = lab.Vtysh("-f", file);

        Assert.True(applied.ExitCode == 0, $"vtysh -f exited {applied.ExitCode}: {applied.Stderr}{applied.Stdout}");
        TorStaticLab.Eventually(() => lab.TorGateways("fd00:10:244:2::/64").Length == 1, Deadline, "zebra installing FRR's static routes in the ToR's kernel");
        AssertRoutesAndPings(lab);
        Assert.Contains("10.244.2.0/24", lab.Vtysh("-c", "show ip route static").Stdout, StringComparison.Ordinal);

        using TorWatchProcess watch = new(["tor", "routes", "--format", "frr", "--watch", "--store-dir", _dir],
            line => lab.Vtysh("-c", "configure terminal", "-c", line));
        watch.WaitForLines(4, Deadline);
        await DeleteLeaseAsync(2);
        TorStaticLab.Eventually(() => lab.TorGateways("10.244.2.0/24").Length == 0 && lab.TorGateways("fd00:10:244:2::/64").Length == 0,
            Deadline, "node 2's routes gone from the ToR after its lease was deleted (no ip route through vtysh)");
        Assert.Contains("no ip route 10.244.2.0/24 198.51.100.12", watch.Lines);
        Assert.Equal(["198.51.100.11"], lab.TorGateways("10.244.1.0/24"));
    }
}
