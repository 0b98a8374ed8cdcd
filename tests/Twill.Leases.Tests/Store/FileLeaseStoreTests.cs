using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;
using Xunit.Abstractions;

namespace Twill.Leases.Tests;

public sealed class FileLeaseStoreTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-leases-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TimeSpan Day = TimeSpan.FromHours(24);

    [Fact]
    public async Task TryCreateAsync_FreeKey_CreatesAndListsIt()
    {
        await using FileLeaseStore store = new(_dir);

        LeaseRecord? created = await store.TryCreateAsync("10.244.3.0-24", "{\"a\":1}", Day, CancellationToken.None);
        LeaseRecord? again = await store.TryCreateAsync("10.244.3.0-24", "{\"b\":2}", Day, CancellationToken.None);
        LeaseListing listing = await store.ListAsync(CancellationToken.None);

        Assert.NotNull(created);
        Assert.Null(again);
        LeaseRecord record = Assert.Single(listing.Records);
        Assert.Equal(created, record);
        Assert.Equal("{\"a\":1}", record.Value);
        Assert.Equal(created.Revision, listing.Revision);
        Assert.Equal(["10.244.3.0-24.json"], Directory.GetFiles(Path.Combine(_dir, "leases")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task UpdateAsync_ExpectedRevision_ChecksIt()
    {
        await using FileLeaseStore store = new(_dir);
        LeaseRecord created = (await store.TryCreateAsync("10.244.3.0-24", "1", Day, CancellationToken.None))!;

        LeaseRecord updated = await store.UpdateAsync("10.244.3.0-24", "2", Day, created.Revision, CancellationToken.None);
        LeaseConflictException stale = await Assert.ThrowsAsync<LeaseConflictException>(() => store.UpdateAsync("10.244.3.0-24", "3", Day, created.Revision, CancellationToken.None));
        LeaseConflictException gone = await Assert.ThrowsAsync<LeaseConflictException>(() => store.UpdateAsync("10.244.9.0-24", "3", Day, 1, CancellationToken.None));
        LeaseRecord blind = await store.UpdateAsync("10.244.9.0-24", "4", Day, null, CancellationToken.None);

        Assert.True(updated.Revision > created.Revision);
        Assert.Contains("10.244.3.0-24 changed", stale.Message, StringComparison.Ordinal);
        Assert.Contains("10.244.9.0-24 no longer exists", gone.Message, StringComparison.Ordinal);
        Assert.Equal("4", blind.Value);
    }

    [Fact]
    public async Task DeleteAsync_Record_RemovesIt()
    {
        await using FileLeaseStore store = new(_dir);
        await store.TryCreateAsync("10.244.3.0-24", "1", Day, CancellationToken.None);

        Assert.True(await store.DeleteAsync("10.244.3.0-24", CancellationToken.None));
        Assert.False(await store.DeleteAsync("10.244.3.0-24", CancellationToken.None));
        Assert.Empty((await store.ListAsync(CancellationToken.None)).Records);
    }

    [Fact]
    public async Task ListAsync_ExpiredRecord_IsInvisibleAndItsKeyFree()
    {
        await using FileLeaseStore store = new(_dir);
        await store.TryCreateAsync("10.244.3.0-24", "old", TimeSpan.FromMilliseconds(100), CancellationToken.None);
        await Task.Delay(200);

        Assert.Empty((await store.ListAsync(CancellationToken.None)).Records);
        LeaseRecord? taken = await store.TryCreateAsync("10.244.3.0-24", "new", Day, CancellationToken.None);
        Assert.Equal("new", taken!.Value);
    }

    [Fact]
    public async Task Keys_WithSlashesAndDots_AreEscapedAndRoundTrip()
    {
        await using FileLeaseStore store = new(_dir);
        string[] keys = ["10.244.4.0-24&fd00:10:244:4::-64", "../evil", "a/b%c", ".hidden"];
        foreach (string key in keys)
        {
            Assert.NotNull(await store.TryCreateAsync(key, key, Day, CancellationToken.None));
        }

        LeaseListing listing = await store.ListAsync(CancellationToken.None);

        Assert.Equal(keys.Order(StringComparer.Ordinal), listing.Records.Select(r => r.Key));
        Assert.All(Directory.GetFiles(Path.Combine(_dir, "leases")), f => Assert.Equal(Path.Combine(_dir, "leases"), Path.GetDirectoryName(f)));
        Assert.Equal("10.244.4.0-24&fd00:10:244:4::-64", FileLeaseKeys.Escape("10.244.4.0-24&fd00:10:244:4::-64"));
    }

    [Fact]
    public async Task GetNetworkConfigAsync_ConfigFile_IsRead()
    {
        await using FileLeaseStore store = new(_dir);
        Assert.Null(await store.GetNetworkConfigAsync(CancellationToken.None));

        await store.SetNetworkConfigAsync("""{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}""", CancellationToken.None);

        NetworkConfig config = NetworkConfig.Parse((await store.GetNetworkConfigAsync(CancellationToken.None))!, out _);
        Assert.IsType<HostGwBackendConfig>(config.Backend);
        Assert.Equal(Path.Combine(_dir, "config"), store.ConfigPath);
    }

    [Fact]
    public async Task WatchAsync_ChangesFromAnotherStoreOnTheDirectory_ArriveWithin100Ms()
    {
        await using FileLeaseStore watcherStore = new(_dir);
        await using FileLeaseStore writer = new(_dir);
        LeaseListing start = await watcherStore.ListAsync(CancellationToken.None);
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(20));
        await using IAsyncEnumerator<LeaseChange> changes = watcherStore.WatchAsync(start.Revision, cts.Token).GetAsyncEnumerator(cts.Token);
        Task<bool> first = changes.MoveNextAsync().AsTask();
        await Task.Delay(200); // let the watcher start

        List<double> latencies = [];
        for (int i = 0; i < 20; i++)
        {
            Stopwatch sw = Stopwatch.StartNew();
            string key = $"10.244.{i + 1}.0-24";
            await writer.TryCreateAsync(key, "v", Day, CancellationToken.None);
            Assert.True(await (i == 0 ? first : changes.MoveNextAsync().AsTask()));
            latencies.Add(sw.Elapsed.TotalMilliseconds);
            Assert.Equal(LeaseChangeKind.Put, changes.Current.Kind);
            Assert.Equal(key, changes.Current.Key);
        }
        Stopwatch del = Stopwatch.StartNew();
        await writer.DeleteAsync("10.244.1.0-24", CancellationToken.None);
        Assert.True(await changes.MoveNextAsync());
        latencies.Add(del.Elapsed.TotalMilliseconds);
        Assert.Equal(LeaseChangeKind.Delete, changes.Current.Kind);
        Assert.Equal("10.244.1.0-24", changes.Current.Key);

        latencies.Sort();
        double p50 = latencies[latencies.Count / 2];
        output.WriteLine($"file store watch latency over {latencies.Count} changes: p50 {p50:F1} ms, max {latencies[^1]:F1} ms");
        Assert.True(p50 < 100, $"watch latency p50 {p50:F1} ms, max {latencies[^1]:F1} ms");
        // The store's promise is "within 100 ms" for a typical change; a single outlier on a loaded
        // machine (GC, scheduler) is tolerated up to a second.
        Assert.True(latencies[^1] < 1000, $"watch latency max {latencies[^1]:F1} ms");
    }

    [Fact]
    public async Task WatchAsync_RecordExpires_DeliversDelete()
    {
        await using FileLeaseStore store = new(_dir);
        await store.TryCreateAsync("10.244.3.0-24", "v", TimeSpan.FromMilliseconds(300), CancellationToken.None);
        await store.TryCreateAsync("10.244.4.0-24", "v", Day, CancellationToken.None);
        LeaseListing start = await store.ListAsync(CancellationToken.None);
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(10));
        await using IAsyncEnumerator<LeaseChange> changes = store.WatchAsync(start.Revision, cts.Token).GetAsyncEnumerator(cts.Token);

        Stopwatch sw = Stopwatch.StartNew();
        Assert.True(await changes.MoveNextAsync());

        Assert.Equal(LeaseChangeKind.Delete, changes.Current.Kind);
        Assert.Equal("10.244.3.0-24", changes.Current.Key);
        // Due ~300 ms after the listing, from the watch's expiry timer (not a rescan); a loaded CI
        // machine was seen delivering it after 1.1 s, so the bound proves "the timer fired", not a latency.
        Assert.InRange(sw.ElapsedMilliseconds, 0, 5000);
        Assert.Equal(["10.244.4.0-24"], (await store.ListAsync(CancellationToken.None)).Records.Select(r => r.Key));
    }

    [Fact]
    public async Task TryCreateAsync_FiftyStoresRacingForOneKey_OnlyOneWins()
    {
        FileLeaseStore[] stores = [.. Enumerable.Range(0, 50).Select(_ => new FileLeaseStore(_dir))];

        LeaseRecord?[] results = await Task.WhenAll(stores.Select(s => Task.Run(() => s.TryCreateAsync("10.244.3.0-24", "v", Day, CancellationToken.None))));

        Assert.Single(results, r => r is not null);
    }

    [Fact]
    public async Task AcquireAsync_FiftyNodesAtOnce_GetFiftyDistinctSubnets()
    {
        NetworkConfig config = PeerSetTests.Vxlan;
        LeaseManager[] managers = [.. Enumerable.Range(1, 50).Select(_ => new LeaseManager(new FileLeaseStore(_dir), config))];

        Lease[] leases = await Task.WhenAll(managers.Select((m, i) => Task.Run(() =>
            m.AcquireAsync(LeaseAttrs.ForVxlan(IPAddress.Parse($"192.0.2.{i + 1}"), new VxlanLeaseData(4096, PhysicalAddress.Parse($"02:00:00:00:00:{i + 1:x2}"))), CancellationToken.None))));

        Assert.Equal(50, leases.Select(l => l.Key).Distinct().Count());
        LeaseListing listing = await new FileLeaseStore(_dir).ListAsync(CancellationToken.None);
        Assert.Equal(50, listing.Records.Count);
        Assert.Equal(leases.Select(l => l.Key).Order(StringComparer.Ordinal), listing.Records.Select(r => r.Key));
        Assert.All(leases, l => Assert.True(config.IPv4Pool!.IsCompatible(l.Subnets.IPv4!.Value)));
    }

    [Fact]
    public async Task AcquireAsync_Slash28_HandsOutThreeThenExhausted()
    {
        NetworkConfig tiny = NetworkConfig.Parse("""{"Network":"10.244.0.0/28","Backend":{"Type":"host-gw"}}""", out _);
        Lease[] leases = await Task.WhenAll(Enumerable.Range(1, 3).Select(i =>
            new LeaseManager(new FileLeaseStore(_dir), tiny).AcquireAsync(LeaseAttrs.ForHostGw(IPAddress.Parse($"192.0.2.{i}")), CancellationToken.None)));

        SubnetPoolExhaustedException e = await Assert.ThrowsAsync<SubnetPoolExhaustedException>(() =>
            new LeaseManager(new FileLeaseStore(_dir), tiny).AcquireAsync(LeaseAttrs.ForHostGw(IPAddress.Parse("192.0.2.4")), CancellationToken.None));

        Assert.Equal(3, leases.Select(l => l.Key).Distinct().Count());
        Assert.Contains("no free subnet left in 10.244.0.0/28: all 3 /30 subnets", e.Message, StringComparison.Ordinal);
        Assert.Contains("file:" + _dir, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryCreateAsync_LockHeldByAnotherProcess_WaitsForIt()
    {
        await using FileLeaseStore store = new(_dir);
        string lockPath = Path.Combine(_dir, "lock");
        // A separate process (python's fcntl.flock) holds the store's lock until told to let go.
        using Process holder = Process.Start(new ProcessStartInfo("python3")
        {
            ArgumentList = { "-c", "import fcntl,sys\nf=open(sys.argv[1],'a')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('held',flush=True)\nsys.stdin.readline()\n", lockPath },
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        })!;
        try
        {
            Assert.Equal("held", await holder.StandardOutput.ReadLineAsync());

            Task<LeaseRecord?> create = store.TryCreateAsync("10.244.3.0-24", "v", Day, CancellationToken.None);
            await Task.Delay(500);
            Assert.False(create.IsCompleted, "TryCreate went ahead while another process held the lock");
            await holder.StandardInput.WriteLineAsync("release");
            await holder.StandardInput.FlushAsync();

            Assert.NotNull(await create.WaitAsync(TimeSpan.FromSeconds(10)));
            await holder.WaitForExitAsync();
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill();
            }
        }
    }

    [Fact]
    public async Task AcquireAsync_SeparateProcesses_GetDistinctSubnetsThenExhausted()
    {
        // A /27 split into /30s: 7 subnets for 8 processes racing, so exactly one must be told "exhausted".
        await using FileLeaseStore store = new(_dir);
        await store.SetNetworkConfigAsync("""{"Network":"10.244.0.0/27","SubnetLen":30,"Backend":{"Type":"vxlan","VNI":4096}}""", CancellationToken.None);
        string assembly = Path.Combine(AppContext.BaseDirectory, "Twill.Leases.Tests.dll");
        List<Process> nodes = [];
        try
        {
            for (int i = 1; i <= 8; i++)
            {
                nodes.Add(Process.Start(new ProcessStartInfo(Environment.ProcessPath!)
                {
                    ArgumentList = { "exec", assembly, "acquire", _dir, $"192.0.2.{i}" },
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                })!);
            }
            List<(int Code, string Output)> results = [];
            foreach (Process node in nodes)
            {
                Task<string> output = node.StandardOutput.ReadToEndAsync();
                Task<string> errors = node.StandardError.ReadToEndAsync();
                await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
                results.Add((node.ExitCode, (await output).Trim() + (await errors).Trim()));
            }

            Assert.Equal(7, results.Count(r => r.Code == 0));
            (int code, string message) = Assert.Single(results, r => r.Code != 0);
            Assert.Equal(3, code);
            Assert.Contains("no free subnet left in 10.244.0.0/27: all 7 /30 subnets", message, StringComparison.Ordinal);
            string[] keys = [.. results.Where(r => r.Code == 0).Select(r => r.Output)];
            Assert.Equal(7, keys.Distinct().Count());
            Assert.Equal(keys.Order(StringComparer.Ordinal), (await store.ListAsync(CancellationToken.None)).Records.Select(r => r.Key));
        }
        finally
        {
            foreach (Process node in nodes)
            {
                if (!node.HasExited)
                {
                    node.Kill();
                }
                node.Dispose();
            }
        }
    }

    [Fact]
    public async Task WatchPeersAsync_OverFileStore_SeesAnotherNodesLease()
    {
        NetworkConfig config = PeerSetTests.Vxlan;
        LeaseManager a = new(new FileLeaseStore(_dir), config);
        LeaseManager b = new(new FileLeaseStore(_dir), config);
        Lease leaseA = await a.AcquireAsync(LeaseAttrs.ForVxlan(IPAddress.Parse("192.0.2.1"), new VxlanLeaseData(4096, PhysicalAddress.Parse("02:00:00:00:00:01"))), CancellationToken.None);
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(20));
        await using IAsyncEnumerator<PeerEvent> events = a.WatchPeersAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await events.MoveNextAsync());
        Assert.Empty(events.Current.Peers);

        Task<bool> next = events.MoveNextAsync().AsTask();
        Lease leaseB = await b.AcquireAsync(LeaseAttrs.ForVxlan(IPAddress.Parse("192.0.2.2"), new VxlanLeaseData(4096, PhysicalAddress.Parse("02:00:00:00:00:02"))), CancellationToken.None);
        Assert.True(await next);
        // B may lease before A's watch is in place; the file store then resyncs, which A sees as a snapshot.
        Lease seen = events.Current.Kind == PeerEventKind.Snapshot ? Assert.Single(events.Current.Peers) : events.Current.Lease!;
        Assert.Contains(events.Current.Kind, new[] { PeerEventKind.Added, PeerEventKind.Snapshot });
        Assert.Equal(leaseB.Key, seen.Key);
        Assert.Equal("02:00:00:00:00:02", seen.Attrs.VxlanData!.VtepMacText);

        await b.ReleaseAsync(CancellationToken.None);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal(PeerEventKind.Removed, events.Current.Kind);
        Assert.NotEqual(leaseA.Key, leaseB.Key);
    }
}

/// <summary>docs/security.md: the embedded store is root's alone, whatever the umask.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FileLeaseStoreModeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Directory.CreateTempSubdirectory("twill-leases-mode-").FullName, "store");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    [Fact]
    public async Task TryCreateAsync_NewStore_Directories0700Files0600()
    {
        await using (FileLeaseStore store = new(_dir))
        {
            Assert.NotNull(await store.TryCreateAsync("10.244.3.0-24", "{}", TimeSpan.FromHours(1), CancellationToken.None));
        }
        const UnixFileMode dir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal(dir, File.GetUnixFileMode(_dir));
        Assert.Equal(dir, File.GetUnixFileMode(Path.Combine(_dir, "leases")));
        string[] files = [.. Directory.GetFiles(_dir, "*", SearchOption.AllDirectories)];
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.True(File.GetUnixFileMode(f) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{f}: {File.GetUnixFileMode(f)}"));
    }

    [Fact]
    public async Task ListAsync_RecordOverTheSizeLimit_SkippedLikeACorruptOne()
    {
        await using FileLeaseStore store = new(_dir);
        Assert.NotNull(await store.TryCreateAsync("10.244.3.0-24", "{}", TimeSpan.FromHours(1), CancellationToken.None));
        string huge = Path.Combine(_dir, "leases", "10.244.4.0-24.json");
        File.Copy(Path.Combine(_dir, "leases", "10.244.3.0-24.json"), huge);
        using (FileStream f = new(huge, FileMode.Append))
        {
            f.Write(new byte[FileLeaseStore.MaxRecordBytes]);
        }

        LeaseListing listing = await store.ListAsync(CancellationToken.None);

        Assert.Equal(["10.244.3.0-24"], listing.Records.Select(r => r.Key));
    }
}
