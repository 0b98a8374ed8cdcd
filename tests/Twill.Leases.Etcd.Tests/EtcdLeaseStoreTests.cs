using System.Collections.Concurrent;
using System.Globalization;
using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Leases.Etcd.Tests;

public sealed class EtcdLeaseStoreTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Day = TimeSpan.FromHours(24);
    private readonly EtcdServer _server = etcd.Server;

    private EtcdLeaseStore NewStore(string prefix) => Etcd.Store(_server.ClientUrls, prefix);

    [Fact]
    public async Task TryCreate_FlannelFixture_StoredByteForByteAndListedBack()
    {
        await using EtcdLeaseStore store = NewStore(EtcdLeaseStoreOptions.DefaultPrefix);
        IReadOnlyList<(string Key, string Value)> fixture = FlannelFixture.Entries;
        (string configKey, string config) = fixture.Single(e => e.Key.EndsWith("/config", StringComparison.Ordinal));
        _server.Etcdctl("put", configKey, config);
        var leases = fixture.Where(e => e.Key.Contains("/subnets/", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, leases.Count);

        try
        {
            Assert.Equal(config, await store.GetNetworkConfigAsync(CancellationToken.None));
            DateTimeOffset before = DateTimeOffset.UtcNow;
            foreach ((string etcdKey, string value) in leases)
            {
                string key = etcdKey["/coreos.com/network/subnets/".Length..];
                LeaseRecord? created = await store.TryCreateAsync(key, value, Day, CancellationToken.None);
                Assert.NotNull(created);
                Assert.Equal(value, created.Value);
                // What Flannel (or etcdctl) reads back at Flannel's key, byte for byte.
                Assert.Equal(value + "\n", _server.Etcdctl("get", etcdKey, "--print-value-only"));
                // Attached to an etcd lease of 24 h, as Flannel's registry does.
                string leaseHex = LeaseIdOf(etcdKey);
                string ttl = _server.Etcdctl("lease", "timetolive", leaseHex);
                Assert.Contains("granted with TTL(86400s)", ttl, StringComparison.Ordinal);
            }

            LeaseListing listing = await store.ListAsync(CancellationToken.None);
            Assert.Equal(leases.Select(l => l.Key["/coreos.com/network/subnets/".Length..]).Order(), listing.Records.Select(r => r.Key).Order());
            foreach (LeaseRecord r in listing.Records)
            {
                Assert.Equal(leases.Single(l => l.Key.EndsWith("/" + r.Key, StringComparison.Ordinal)).Value, r.Value);
                Assert.InRange(r.Expiration, before + Day - TimeSpan.FromSeconds(5), DateTimeOffset.UtcNow + Day + TimeSpan.FromSeconds(1));
                Assert.True(r.Revision > 0 && r.Revision <= listing.Revision);
            }

            // The same key again is taken, and nothing changed.
            Assert.Null(await store.TryCreateAsync(listing.Records[0].Key, "{}", Day, CancellationToken.None));
            Assert.Equal(listing.Records[0].Value + "\n", _server.Etcdctl("get", "/coreos.com/network/subnets/" + listing.Records[0].Key, "--print-value-only"));
        }
        finally
        {
            foreach ((string etcdKey, _) in leases)
            {
                await store.DeleteAsync(etcdKey["/coreos.com/network/subnets/".Length..], CancellationToken.None);
            }
            _server.Etcdctl("del", configKey);
        }
        Assert.Empty((await store.ListAsync(CancellationToken.None)).Records);
    }

    [Fact]
    public async Task ListAsync_LeaseWrittenTheFlannelWay_ReadWithItsExpiry()
    {
        string prefix = Etcd.FreshPrefix();
        await using EtcdLeaseStore store = NewStore(prefix);
        (string _, string value) = FlannelFixture.Entries.First(e => e.Key.Contains("/subnets/", StringComparison.Ordinal));
        // What flanneld does: grant a 24 h lease, then put the key with it.
        string grant = _server.Etcdctl("lease", "grant", "86400");
        string leaseHex = grant.Split(' ')[1];
        _server.Etcdctl("put", "--lease=" + leaseHex, prefix + "/subnets/10.244.9.0-24", value);
        // And a key without any lease (put by hand): listed, never expiring.
        _server.Etcdctl("put", prefix + "/subnets/10.244.10.0-24", value);
        // Not a lease: next to the subnets directory, not in it.
        _server.Etcdctl("put", prefix + "/subnetsX", "noise");

        LeaseListing listing = await store.ListAsync(CancellationToken.None);

        Assert.Equal(["10.244.10.0-24", "10.244.9.0-24"], listing.Records.Select(r => r.Key).Order());
        LeaseRecord flannels = listing.Records.Single(r => r.Key == "10.244.9.0-24");
        Assert.Equal(value, flannels.Value);
        Assert.InRange(flannels.Expiration, DateTimeOffset.UtcNow + Day - TimeSpan.FromSeconds(10), DateTimeOffset.UtcNow + Day + TimeSpan.FromSeconds(1));
        Assert.Equal(DateTimeOffset.MaxValue, listing.Records.Single(r => r.Key == "10.244.10.0-24").Expiration);
        Assert.Equal(_server.Revision(), listing.Revision);
    }

    [Fact]
    public async Task UpdateAsync_ExpectedRevision_RenewsOrThrowsConflict()
    {
        string prefix = Etcd.FreshPrefix();
        await using EtcdLeaseStore store = NewStore(prefix);
        LeaseRecord created = (await store.TryCreateAsync("10.244.1.0-24", "{\"v\":1}", Day, CancellationToken.None))!;
        string firstLease = LeaseIdOf(prefix + "/subnets/10.244.1.0-24");

        LeaseRecord renewed = await store.UpdateAsync("10.244.1.0-24", "{\"v\":2}", Day, created.Revision, CancellationToken.None);

        Assert.True(renewed.Revision > created.Revision);
        Assert.NotEqual(firstLease, LeaseIdOf(prefix + "/subnets/10.244.1.0-24"));
        Assert.Equal("{\"v\":2}\n", _server.Etcdctl("get", prefix + "/subnets/10.244.1.0-24", "--print-value-only"));

        // Someone else wrote since: the stale revision is refused and the other write stays.
        _server.Etcdctl("put", prefix + "/subnets/10.244.1.0-24", "{\"other\":true}");
        LeaseConflictException changed = await Assert.ThrowsAsync<LeaseConflictException>(
            () => store.UpdateAsync("10.244.1.0-24", "{\"v\":3}", Day, renewed.Revision, CancellationToken.None));
        Assert.Contains(prefix + "/subnets/10.244.1.0-24", changed.Message, StringComparison.Ordinal);
        Assert.Equal("{\"other\":true}\n", _server.Etcdctl("get", prefix + "/subnets/10.244.1.0-24", "--print-value-only"));

        Assert.True(await store.DeleteAsync("10.244.1.0-24", CancellationToken.None));
        Assert.False(await store.DeleteAsync("10.244.1.0-24", CancellationToken.None));
        LeaseConflictException vanished = await Assert.ThrowsAsync<LeaseConflictException>(
            () => store.UpdateAsync("10.244.1.0-24", "{\"v\":4}", Day, renewed.Revision, CancellationToken.None));
        Assert.Contains("vanished", vanished.Message, StringComparison.Ordinal);

        // Without an expected revision it is Flannel's plain renewal: a put whatever is there.
        LeaseRecord plain = await store.UpdateAsync("10.244.1.0-24", "{\"v\":5}", Day, null, CancellationToken.None);
        Assert.Equal("{\"v\":5}", (await store.ListAsync(CancellationToken.None)).Records.Single().Value);
        Assert.True(plain.Revision > renewed.Revision);
    }

    [Fact]
    public async Task TryCreate_FiftyConcurrentCreatorsOverSmallPool_NeverShareAKey()
    {
        string prefix = Etcd.FreshPrefix();
        const int Creators = 50;
        string[] pool = [.. Enumerable.Range(0, 20).Select(i => $"10.244.{i}.0-24")];
        // Several clients (connections), as separate nodes would have.
        EtcdLeaseStore[] stores = [.. Enumerable.Range(0, 5).Select(_ => NewStore(prefix))];
        ConcurrentDictionary<string, int> winners = new();
        try
        {
            using Barrier start = new(Creators);
            Task<string?>[] creators = [.. Enumerable.Range(0, Creators).Select(node => Task.Run(async () =>
            {
                EtcdLeaseStore store = stores[node % stores.Length];
                Random random = new(node);
                // Every creator races for the same keys in its own random order.
                foreach (string key in pool.OrderBy(_ => random.Next()))
                {
                    if (await store.TryCreateAsync(key, $"{{\"node\":{node}}}", Day, CancellationToken.None) is not null)
                    {
                        Assert.True(winners.TryAdd(key, node), $"{key} given to node {node} and node {winners.GetValueOrDefault(key)}");
                        return key;
                    }
                }
                return null;
            }))];
            string?[] results = await Task.WhenAll(creators);

            Assert.Equal(pool.Length, results.Count(r => r is not null));
            Assert.Equal(pool.Length, results.Where(r => r is not null).Distinct().Count());
            LeaseListing listing = await stores[0].ListAsync(CancellationToken.None);
            Assert.Equal(pool.Order(), listing.Records.Select(r => r.Key).Order());
            foreach (LeaseRecord r in listing.Records)
            {
                Assert.Equal($"{{\"node\":{winners[r.Key]}}}", r.Value);
            }
            // Losers revoked their spare etcd leases: one etcd lease per record is left for this test.
            HashSet<string> attached = [.. pool.Select(k => LeaseIdOf(prefix + "/subnets/" + k))];
            Assert.Equal(pool.Length, attached.Count);
        }
        finally
        {
            foreach (EtcdLeaseStore s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TryCreate_ShortTtl_RecordExpiresAndWatchDeliversDelete()
    {
        string prefix = Etcd.FreshPrefix();
        await using EtcdLeaseStore store = NewStore(prefix);
        LeaseListing start = await store.ListAsync(CancellationToken.None);
        await using WatchRecorder watch = new(store, start.Revision);

        LeaseRecord created = (await store.TryCreateAsync("10.244.7.0-24", "{}", TimeSpan.FromSeconds(2), CancellationToken.None))!;
        Assert.InRange(created.Expiration, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3));

        LeaseChange put = await watch.NextAsync();
        Assert.Equal(LeaseChangeKind.Put, put.Kind);
        Assert.Equal("10.244.7.0-24", put.Key);
        Assert.Equal(created.Revision, put.Revision);
        Assert.InRange(put.Record!.Expiration, DateTimeOffset.UtcNow - TimeSpan.FromSeconds(1), DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3));

        LeaseChange expired = await watch.NextAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(LeaseChangeKind.Delete, expired.Kind);
        Assert.Equal("10.244.7.0-24", expired.Key);
        Assert.Null(expired.Record);
        Assert.True(expired.Revision > put.Revision);
        Assert.Empty((await store.ListAsync(CancellationToken.None)).Records);
        Assert.Equal("", _server.Etcdctl("get", prefix + "/subnets/10.244.7.0-24"));
    }

    [Fact]
    public async Task WatchAsync_FromRevision_ReplaysEveryChangeInOrder()
    {
        string prefix = Etcd.FreshPrefix();
        await using EtcdLeaseStore store = NewStore(prefix);
        long start = (await store.ListAsync(CancellationToken.None)).Revision;
        LeaseRecord a = (await store.TryCreateAsync("10.244.1.0-24", "{\"a\":1}", Day, CancellationToken.None))!;
        LeaseRecord b = await store.UpdateAsync("10.244.1.0-24", "{\"a\":2}", Day, a.Revision, CancellationToken.None);
        await store.DeleteAsync("10.244.1.0-24", CancellationToken.None);

        await using WatchRecorder watch = new(store, start);
        LeaseChange c1 = await watch.NextAsync();
        LeaseChange c2 = await watch.NextAsync();
        LeaseChange c3 = await watch.NextAsync();

        Assert.Equal((LeaseChangeKind.Put, a.Revision, "{\"a\":1}"), (c1.Kind, c1.Revision, c1.Record!.Value));
        Assert.Equal((LeaseChangeKind.Put, b.Revision, "{\"a\":2}"), (c2.Kind, c2.Revision, c2.Record!.Value));
        Assert.Equal(LeaseChangeKind.Delete, c3.Kind);
        Assert.True(c3.Revision > b.Revision);
    }

    [Fact]
    public async Task WatchAsync_Cancelled_EndsWithOperationCanceled()
    {
        await using EtcdLeaseStore store = NewStore(Etcd.FreshPrefix());
        long now = (await store.ListAsync(CancellationToken.None)).Revision;
        using CancellationTokenSource cts = new();
        // From now: from 0 another test's compaction would make it deliver a Resync at once.
        IAsyncEnumerator<LeaseChange> watch = store.WatchAsync(now, cts.Token).GetAsyncEnumerator(cts.Token);
        ValueTask<bool> next = watch.MoveNextAsync();
        await Task.Delay(200);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
        await watch.DisposeAsync();
    }

    [Fact]
    public async Task Operations_NoMemberReachable_ErrorNamesEndpointAndKey()
    {
        // A port nothing listens on: the connection is refused at once.
        string dead = "http://127.0.0.1:9";
        await using EtcdLeaseStore store = Etcd.Store([dead], "/coreos.com/network");

        EtcdStoreException error = await Assert.ThrowsAsync<EtcdStoreException>(
            () => store.TryCreateAsync("10.244.3.0-24", "{}", Day, CancellationToken.None));

        Assert.Contains(dead, error.Message, StringComparison.Ordinal);
        Assert.Contains("/coreos.com/network/subnets/10.244.3.0-24", error.Message, StringComparison.Ordinal);
    }

    private string LeaseIdOf(string etcdKey)
    {
        string json = _server.Etcdctl("get", etcdKey, "-w", "json");
        using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(json);
        long lease = doc.RootElement.GetProperty("kvs")[0].GetProperty("lease").GetInt64();
        return lease.ToString("x", CultureInfo.InvariantCulture);
    }
}
