using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Cli.Tests;

/// <summary><c>twill tor routes</c> as an operator runs it (the published binary: <c>make build</c> first), on the file store and the Kubernetes store.</summary>
[Trait("Category", "Binary")]
public sealed class TorRoutesCommandTests : IDisposable
{
    private const string Node1 = """{"PublicIP":"198.51.100.11","PublicIPv6":null,"BackendType":"bgp"}""";
    private const string Node2 = """{"PublicIP":"198.51.100.12","PublicIPv6":"2001:db8:1::12","BackendType":"bgp"}""";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-tor-routes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task PutAsync(string key, string value)
    {
        FileLeaseStore store = new(_dir);
        await using (store.ConfigureAwait(false))
        {
            Assert.NotNull(await store.TryCreateAsync(key, value, TimeSpan.FromHours(1), CancellationToken.None));
        }
    }

    private async Task DeleteAsync(string key)
    {
        FileLeaseStore store = new(_dir);
        await using (store.ConfigureAwait(false))
        {
            Assert.True(await store.DeleteAsync(key, CancellationToken.None));
        }
    }

    [Fact]
    public async Task Routes_FileStore_EachFormatPrintsItsFixtureAndNamesTheCorruptLease()
    {
        foreach ((string key, string value) in TorFixtures.Leases())
        {
            await PutAsync(key, value);
        }

        foreach (string format in TorFixtures.Formats)
        {
            Tool.Result r = Tool.Run(TwillBinary.Path, "tor", "routes", "--format", format, "--store-dir", _dir);

            Assert.True(r.ExitCode == 0, $"--format {format} exited {r.ExitCode}: {r.Stderr}");
            Assert.Equal(TorFixtures.Lines($"routes.{format}.txt"), r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("10.244.9.0-24", r.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Routes_UnknownFormatOrMissingStore_UsageErrorNamingIt()
    {
        Tool.Result format = Tool.Run(TwillBinary.Path, "tor", "routes", "--format", "cumulus", "--store-dir", _dir);
        string missing = Path.Combine(_dir, "nope");
        Tool.Result store = Tool.Run(TwillBinary.Path, "tor", "routes", "--store-dir", missing);

        Assert.Equal(2, format.ExitCode);
        Assert.Contains("'cumulus'", format.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, store.ExitCode);
        Assert.Contains(missing, store.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_FileStore_PrintsTheAddedLeaseAndTheNegationOfTheRemovedOne()
    {
        await PutAsync("10.244.1.0-24", Node1);
        using TorWatchProcess watch = new(["tor", "routes", "--format", "ios", "--watch", "--store-dir", _dir]);
        watch.WaitForLines(1, Deadline);

        await PutAsync("10.244.2.0-24&fd00:10:244:2::-64", Node2);
        watch.WaitForLines(3, Deadline);
        await DeleteAsync("10.244.1.0-24");
        string[] lines = watch.WaitForLines(4, Deadline);

        Assert.Equal(TorFixtures.Lines("watch.ios.txt"), lines);
    }

    [Fact]
    public void Routes_KubeStore_WindowsNodeRoutedLikeTheLinuxOne()
    {
        using KubeApiServer server = KubeApiServer.Start();
        foreach (string node in new[] { "node.linux-vxlan.json", "node.windows-vxlan.json" })
        {
            server.Kubectl("create", "-f", Path.Combine(AppContext.BaseDirectory, "fixtures", "flannel", node)).EnsureSuccess("kubectl create " + node);
        }

        Tool.Result r = Tool.Run(TwillBinary.Path, "tor", "routes", "--format", "eos", "--kube-subnet-mgr", "--kubeconfig-file", server.KubeconfigPath);

        Assert.True(r.ExitCode == 0, $"exited {r.ExitCode}: {r.Stderr}");
        Assert.Equal(["ip route 10.244.1.0/24 192.0.2.11", "ip route 10.244.2.0/24 192.0.2.21"], r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
