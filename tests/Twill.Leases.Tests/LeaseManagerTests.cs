using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Leases.Tests;

public class LeaseManagerTests
{
    private static readonly NetworkConfig Vxlan = PeerSetTests.Vxlan;

    private static LeaseAttrs Attrs(string publicIP, string mac = "02:00:00:00:00:01") =>
        LeaseAttrs.ForVxlan(IPAddress.Parse(publicIP), new VxlanLeaseData(4096, PhysicalAddress.Parse(mac)));

    private static LeaseManager Manager(ILeaseStore store, NetworkConfig? config = null, LeaseManagerOptions? options = null) =>
        new(store, config ?? Vxlan, options ?? new LeaseManagerOptions { Random = new Random(7) });

    [Fact]
    public async Task AcquireAsync_EmptyStore_LeasesAFreeSubnetInThePool()
    {
        InMemoryLeaseStore store = new();

        Lease lease = await Manager(store).AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);

        Assert.True(Vxlan.IPv4Pool!.IsCompatible(lease.Subnets.IPv4!.Value));
        LeaseRecord record = Assert.Single((await store.ListAsync(CancellationToken.None)).Records);
        Assert.Equal(lease.Key, record.Key);
        Assert.Equal(Attrs("192.0.2.1").ToJson(), record.Value);
        Assert.InRange(record.Expiration - DateTimeOffset.UtcNow, TimeSpan.FromHours(23.9), TimeSpan.FromHours(24));
    }

    [Fact]
    public async Task AcquireAsync_LeaseWithOurPublicIP_IsReusedWithNewAttrs()
    {
        InMemoryLeaseStore store = new();
        store.Put("10.244.42.0-24", PeerSetTests.VxlanValue("192.0.2.1", "02:00:00:00:00:99"));

        Lease lease = await Manager(store, options: new() { PreviousSubnets = LeaseSubnets.ParseKey("10.244.7.0-24") })
            .AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);

        Assert.Equal("10.244.42.0-24", lease.Key);
        LeaseRecord record = Assert.Single((await store.ListAsync(CancellationToken.None)).Records);
        Assert.Equal(Attrs("192.0.2.1").ToJson(), record.Value);
    }

    [Fact]
    public async Task AcquireAsync_ReviseAttrs_SeesOtherLeasesNotOursAndItsAttrsArePublished()
    {
        InMemoryLeaseStore store = new();
        store.Put("10.244.42.0-24", PeerSetTests.VxlanValue("192.0.2.1", "02:00:00:00:00:99"));
        store.Put("10.244.43.0-24", PeerSetTests.VxlanValue("192.0.2.2", "02:00:00:00:00:01"));
        List<string> seen = [];

        Lease lease = await Manager(store, options: new()
        {
            ReviseAttrs = (others, attrs) =>
            {
                seen.AddRange(others.Select(l => l.Key));
                return Attrs("192.0.2.1", "02:00:00:00:00:77");
            },
        }).AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);

        Assert.Equal(["10.244.43.0-24"], seen);
        Assert.Equal("10.244.42.0-24", lease.Key);
        Assert.Equal("02:00:00:00:00:77", lease.Attrs.VxlanData!.VtepMacText);
        LeaseRecord record = (await store.ListAsync(CancellationToken.None)).Records.Single(r => r.Key == lease.Key);
        Assert.Equal(Attrs("192.0.2.1", "02:00:00:00:00:77").ToJson(), record.Value);
    }

    [Fact]
    public async Task AcquireAsync_IPv6OnlyLeaseReused_LogNamesPublicIPv6()
    {
        NetworkConfig v6only = NetworkConfig.Parse(
            """{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""", out _);
        LeaseAttrs attrs = LeaseAttrs.ForVxlan(null, null, IPAddress.Parse("2001:db8::14"), new VxlanLeaseData(4096, PhysicalAddress.Parse("2e:51:0a:33:7c:02")));
        InMemoryLeaseStore store = new();
        store.Put("0.0.0.0-0&fd00:10:244:2::-64", attrs.ToJson());
        LinesLogger log = new();

        Lease lease = await new LeaseManager(store, v6only, new LeaseManagerOptions { Random = new Random(7) }, log).AcquireAsync(attrs, CancellationToken.None);

        Assert.Equal("0.0.0.0-0&fd00:10:244:2::-64", lease.Key);
        string line = Assert.Single(log.Lines, l => l.Contains("reusing it", StringComparison.Ordinal));
        Assert.Contains("2001:db8::14", line, StringComparison.Ordinal);
        Assert.DoesNotContain("0.0.0.0", line, StringComparison.Ordinal);
    }

    /// <summary>Keeps every formatted log line.</summary>
    private sealed class LinesLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }

    [Fact]
    public async Task AcquireAsync_LeaseWithOurIPButIncompatible_IsDeletedAndReplaced()
    {
        InMemoryLeaseStore store = new();
        store.Put("10.244.0.0-24", PeerSetTests.VxlanValue("192.0.2.1")); // the first subnet is never handed out

        Lease lease = await Manager(store).AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);

        Assert.NotEqual("10.244.0.0-24", lease.Key);
        Assert.Equal([lease.Key], (await store.ListAsync(CancellationToken.None)).Records.Select(r => r.Key));
    }

    [Fact]
    public async Task AcquireAsync_PreviousSubnetFree_IsReused()
    {
        InMemoryLeaseStore store = new();
        SubnetEnv env = SubnetEnv.Parse("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\n");

        Lease lease = await Manager(store, options: new() { PreviousSubnets = LeaseSubnets.FromSubnetEnv(env) })
            .AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);

        Assert.Equal("10.244.7.0-24", lease.Key);
    }

    [Fact]
    public async Task AcquireAsync_PreviousSubnetTaken_PicksAnother()
    {
        InMemoryLeaseStore store = new();
        store.Put("10.244.7.0-24", PeerSetTests.VxlanValue("192.0.2.2"));

        Lease lease = await Manager(store, options: new() { PreviousSubnets = LeaseSubnets.ParseKey("10.244.7.0-24") })
            .AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);

        Assert.NotEqual("10.244.7.0-24", lease.Key);
        Assert.Equal(2, (await store.ListAsync(CancellationToken.None)).Records.Count);
    }

    [Fact]
    public async Task AcquireAsync_PreviousSubnetIncompatible_IsIgnored()
    {
        InMemoryLeaseStore store = new();

        Lease lease = await Manager(store, options: new() { PreviousSubnets = LeaseSubnets.ParseKey("10.245.7.0-24") })
            .AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);

        Assert.True(Vxlan.IPv4Pool!.IsCompatible(lease.Subnets.IPv4!.Value));
    }

    [Fact]
    public async Task AcquireAsync_LostRace_RetriesAndGetsAnotherSubnet()
    {
        InMemoryLeaseStore store = new();
        int raced = 0;
        // Another node grabs exactly the subnet we chose, twice, between our listing and our create.
        store.BeforeCreate = key =>
        {
            if (raced++ < 2)
            {
                store.Put(key, PeerSetTests.VxlanValue($"192.0.2.{100 + raced}"));
            }
        };

        Lease lease = await Manager(store).AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);

        Assert.Equal(2, store.CreateConflicts);
        Assert.Equal(3, (await store.ListAsync(CancellationToken.None)).Records.Select(r => r.Key).Distinct().Count());
        Assert.Equal(Attrs("192.0.2.1").ToJson(), (await store.ListAsync(CancellationToken.None)).Records.Single(r => r.Key == lease.Key).Value);
    }

    [Fact]
    public async Task AcquireAsync_SmallestNetwork_HandsOutThreeThenSaysExhausted()
    {
        NetworkConfig tiny = NetworkConfig.Parse("""{"Network":"10.244.0.0/28","Backend":{"Type":"vxlan"}}""", out _);
        InMemoryLeaseStore store = new();
        HashSet<string> keys = [];
        for (int i = 1; i <= 3; i++)
        {
            keys.Add((await Manager(store, tiny).AcquireAsync(Attrs($"192.0.2.{i}"), CancellationToken.None)).Key);
        }

        SubnetPoolExhaustedException e = await Assert.ThrowsAsync<SubnetPoolExhaustedException>(() =>
            Manager(store, tiny).AcquireAsync(Attrs("192.0.2.4"), CancellationToken.None));

        Assert.Equal(["10.244.0.12-30", "10.244.0.4-30", "10.244.0.8-30"], keys.Order(StringComparer.Ordinal));
        Assert.Equal("no free subnet left in 10.244.0.0/28: all 3 /30 subnets from 10.244.0.4 to 10.244.0.12 are leased (memory:)", e.Message);
    }

    [Fact]
    public async Task AcquireAsync_DualStack_LeasesBothFamilies()
    {
        NetworkConfig dual = NetworkConfig.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "flannel", "net-conf.dualstack.json")), out _);
        InMemoryLeaseStore store = new();
        LeaseAttrs attrs = LeaseAttrs.ForVxlan(IPAddress.Parse("192.0.2.14"), new VxlanLeaseData(4096, PhysicalAddress.Parse("2e:51:0a:33:7c:01")),
            IPAddress.Parse("2001:db8::14"), new VxlanLeaseData(4096, PhysicalAddress.Parse("2e:51:0a:33:7c:02")));

        Lease lease = await Manager(store, dual).AcquireAsync(attrs, CancellationToken.None);

        Assert.True(dual.IPv4Pool!.IsCompatible(lease.Subnets.IPv4!.Value));
        Assert.True(dual.IPv6Pool!.IsCompatible(lease.Subnets.IPv6!.Value));
        Assert.Contains("&", lease.Key, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenewAsync_Lease_ExtendsExpiryAndKeepsValue()
    {
        InMemoryLeaseStore store = new();
        LeaseManager manager = Manager(store, options: new() { Ttl = TimeSpan.FromMinutes(5) });
        Lease first = await manager.AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);
        await Task.Delay(20);

        Lease renewed = await manager.RenewAsync(CancellationToken.None);

        Assert.Equal(first.Key, renewed.Key);
        Assert.True(renewed.Expiration > first.Expiration);
        Assert.True(renewed.Revision > first.Revision);
        Assert.Equal(renewed, manager.Current);
    }

    [Fact]
    public async Task RenewAsync_LeaseTakenByAnother_ThrowsLeaseLost()
    {
        InMemoryLeaseStore store = new();
        LeaseManager manager = Manager(store);
        Lease lease = await manager.AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);
        store.Put(lease.Key, PeerSetTests.VxlanValue("192.0.2.66"));

        LeaseLostException e = await Assert.ThrowsAsync<LeaseLostException>(() => manager.RenewAsync(CancellationToken.None));
        Assert.Contains(lease.Key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenewAsync_LeaseVanished_CreatesItAgain()
    {
        InMemoryLeaseStore store = new();
        LeaseManager manager = Manager(store);
        Lease lease = await manager.AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);
        await store.DeleteAsync(lease.Key, CancellationToken.None);

        Lease renewed = await manager.RenewAsync(CancellationToken.None);

        Assert.Equal(lease.Key, renewed.Key);
        Assert.Equal([lease.Key], (await store.ListAsync(CancellationToken.None)).Records.Select(r => r.Key));
    }

    [Fact]
    public async Task RunRenewalAsync_MarginReached_Renews()
    {
        InMemoryLeaseStore store = new();
        // TTL 2 s, margin 1.8 s: the first renewal is due 200 ms after acquiring.
        LeaseManager manager = Manager(store, options: new() { Ttl = TimeSpan.FromSeconds(2), RenewMargin = TimeSpan.FromSeconds(1.8) });
        Lease first = await manager.AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);
        using CancellationTokenSource cts = new();
        Task renewal = manager.RunRenewalAsync(cts.Token);

        // Two renewals are due within 400 ms; a loaded machine may take longer, so wait for them, bounded.
        System.Diagnostics.Stopwatch waited = System.Diagnostics.Stopwatch.StartNew();
        while (manager.Current!.Revision < first.Revision + 2 && waited.Elapsed < TimeSpan.FromSeconds(10) && !renewal.IsCompleted)
        {
            await Task.Delay(20);
        }
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => renewal);

        Assert.True(manager.Current!.Revision >= first.Revision + 2, $"renewed to revision {manager.Current.Revision} from {first.Revision}");
        Assert.Single((await store.ListAsync(CancellationToken.None)).Records);
    }

    [Fact]
    public async Task WatchPeersAsync_Changes_SnapshotThenEventsWithoutOurOwn()
    {
        InMemoryLeaseStore store = new();
        store.Put("10.244.2.0-24", PeerSetTests.VxlanValue("192.0.2.2"));
        LeaseManager manager = Manager(store, options: new() { PreviousSubnets = LeaseSubnets.ParseKey("10.244.50.0-24") });
        Lease own = await manager.AcquireAsync(Attrs("192.0.2.1"), CancellationToken.None);
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(10));
        await using IAsyncEnumerator<PeerEvent> events = manager.WatchPeersAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await events.MoveNextAsync());
        Assert.Equal(PeerEventKind.Snapshot, events.Current.Kind);
        Assert.Equal(["10.244.2.0-24"], events.Current.Peers.Select(p => p.Key));

        await manager.RenewAsync(CancellationToken.None); // our own change: no event
        store.Put("10.244.3.0-24", PeerSetTests.VxlanValue("192.0.2.3"));
        store.Put("10.244.200.0-24", PeerSetTests.VxlanValue("192.0.2.1")); // claims our public IP: skipped
        store.Put("10.244.2.0-24", PeerSetTests.VxlanValue("192.0.2.2", "02:00:00:00:00:22"));
        await store.DeleteAsync("10.244.3.0-24", CancellationToken.None);

        List<(PeerEventKind, string?)> seen = [];
        for (int i = 0; i < 4; i++)
        {
            if (i == 3)
            {
                store.Resync(); // as etcd after a compaction; the watch is running by now
            }
            Assert.True(await events.MoveNextAsync());
            seen.Add((events.Current.Kind, events.Current.Lease?.Key));
        }
        Assert.Equal(
            [(PeerEventKind.Added, "10.244.3.0-24"), (PeerEventKind.Changed, "10.244.2.0-24"), (PeerEventKind.Removed, "10.244.3.0-24"), (PeerEventKind.Snapshot, null)],
            seen);
        Assert.Equal(["10.244.2.0-24"], events.Current.Peers.Select(p => p.Key));
        Assert.DoesNotContain(own.Key, events.Current.Peers.Select(p => p.Key));
    }

    [Fact]
    public async Task WatchPeersAsync_WatchFails_RelistsWithNewSnapshot()
    {
        FailingWatchStore store = new();
        store.Inner.Put("10.244.2.0-24", PeerSetTests.VxlanValue("192.0.2.2"));
        LeaseManager manager = Manager(store, options: new() { WatchRetryInterval = TimeSpan.FromMilliseconds(10) });
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(10));
        await using IAsyncEnumerator<PeerEvent> events = manager.WatchPeersAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await events.MoveNextAsync());
        store.Inner.Put("10.244.3.0-24", PeerSetTests.VxlanValue("192.0.2.3"));
        Assert.True(await events.MoveNextAsync());

        Assert.Equal(PeerEventKind.Snapshot, events.Current.Kind);
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24"], events.Current.Peers.Select(p => p.Key));
        Assert.Equal(2, store.WatchCalls); // the snapshot came from a re-list after the broken watch, and a new watch started
    }

    /// <summary>A store whose first watch breaks immediately, as a dropped connection would.</summary>
    private sealed class FailingWatchStore : ILeaseStore
    {
        public InMemoryLeaseStore Inner { get; } = new();

        public int WatchCalls;

        public string Description => "failing:";

        public Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken) => Inner.GetNetworkConfigAsync(cancellationToken);

        public Task<LeaseListing> ListAsync(CancellationToken cancellationToken) => Inner.ListAsync(cancellationToken);

        public Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken) => Inner.TryCreateAsync(key, value, ttl, cancellationToken);

        public Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken) => Inner.UpdateAsync(key, value, ttl, expectedRevision, cancellationToken);

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => Inner.DeleteAsync(key, cancellationToken);

        public async IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref WatchCalls) == 1)
            {
                await Task.Delay(100, cancellationToken);
                throw new IOException("connection reset");
            }
            await foreach (LeaseChange change in Inner.WatchAsync(afterRevision, cancellationToken))
            {
                yield return change;
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
