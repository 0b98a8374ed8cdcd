using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Leases.Etcd.Tests;

/// <summary>Members die and come back; clients carry on and watches miss nothing.</summary>
public sealed class EtcdFailoverTests
{
    private static readonly TimeSpan Day = TimeSpan.FromHours(24);

    [Fact]
    public async Task Cluster_MemberLost_ClientCarriesOnWithTheOthers()
    {
        using EtcdServer cluster = EtcdServer.Start(members: 3);
        string prefix = Etcd.FreshPrefix();
        await using EtcdLeaseStore store = Etcd.Store(cluster.ClientUrls, prefix);
        Assert.NotNull(await store.TryCreateAsync("10.244.1.0-24", "{\"n\":1}", Day, CancellationToken.None));

        // The first endpoint is the one the client talks to; kill it.
        cluster.StopMember(0);

        LeaseListing listing = await store.ListAsync(CancellationToken.None);
        Assert.Equal(["10.244.1.0-24"], listing.Records.Select(r => r.Key));
        Assert.NotNull(await store.TryCreateAsync("10.244.2.0-24", "{\"n\":2}", Day, CancellationToken.None));
        Assert.Null(await store.TryCreateAsync("10.244.1.0-24", "{\"n\":3}", Day, CancellationToken.None));
        Assert.True(await store.DeleteAsync("10.244.1.0-24", CancellationToken.None));
        Assert.Equal(["10.244.2.0-24"], (await store.ListAsync(CancellationToken.None)).Records.Select(r => r.Key));

        // The member comes back and catches up.
        cluster.RestartMember(0);
        await using EtcdLeaseStore onFirst = Etcd.Store([cluster.ClientUrls[0]], prefix);
        Assert.Equal(["10.244.2.0-24"], (await onFirst.ListAsync(CancellationToken.None)).Records.Select(r => r.Key));
    }

    [Fact]
    public async Task Watch_OwnMemberDownWhileOthersWrite_ResumesAndMissesNothing()
    {
        using EtcdServer cluster = EtcdServer.Start(members: 3);
        string prefix = Etcd.FreshPrefix();
        // The watcher knows only member 0; the writer only members 1 and 2.
        await using EtcdLeaseStore watcher = Etcd.Store([cluster.ClientUrls[0]], prefix);
        await using EtcdLeaseStore writer = Etcd.Store([cluster.ClientUrls[1], cluster.ClientUrls[2]], prefix);
        long start = (await watcher.ListAsync(CancellationToken.None)).Revision;
        await using WatchRecorder watch = new(watcher, start);

        await writer.TryCreateAsync("10.244.1.0-24", "{\"n\":1}", Day, CancellationToken.None);
        Assert.Equal("10.244.1.0-24", (await watch.NextAsync()).Key);

        cluster.StopMember(0);
        // Written while the watcher's only member is down: the watcher cannot see these now.
        LeaseRecord two = (await writer.TryCreateAsync("10.244.2.0-24", "{\"n\":2}", Day, CancellationToken.None))!;
        await writer.DeleteAsync("10.244.1.0-24", CancellationToken.None);
        LeaseRecord three = (await writer.TryCreateAsync("10.244.3.0-24", "{\"n\":3}", Day, CancellationToken.None))!;
        await Task.Delay(TimeSpan.FromSeconds(1));
        cluster.RestartMember(0);
        LeaseRecord four = (await writer.TryCreateAsync("10.244.4.0-24", "{\"n\":4}", Day, CancellationToken.None))!;

        LeaseChange c2 = await watch.NextAsync();
        LeaseChange c1 = await watch.NextAsync();
        LeaseChange c3 = await watch.NextAsync();
        LeaseChange c4 = await watch.NextAsync();
        Assert.Equal((LeaseChangeKind.Put, "10.244.2.0-24", two.Revision), (c2.Kind, c2.Key, c2.Revision));
        Assert.Equal((LeaseChangeKind.Delete, "10.244.1.0-24"), (c1.Kind, c1.Key));
        Assert.Equal((LeaseChangeKind.Put, "10.244.3.0-24", three.Revision), (c3.Kind, c3.Key, c3.Revision));
        Assert.Equal((LeaseChangeKind.Put, "10.244.4.0-24", four.Revision), (c4.Kind, c4.Key, c4.Revision));
        Assert.Equal("{\"n\":4}", c4.Record!.Value);
    }

    [Fact]
    public async Task Watch_EtcdStoppedAndRestarted_ResumesAndMissesNothing()
    {
        using EtcdServer etcd = EtcdServer.Start();
        string prefix = Etcd.FreshPrefix();
        await using EtcdLeaseStore store = Etcd.Store(etcd.ClientUrls, prefix);
        long start = (await store.ListAsync(CancellationToken.None)).Revision;
        await using WatchRecorder watch = new(store, start);
        await store.TryCreateAsync("10.244.1.0-24", "{\"n\":1}", Day, CancellationToken.None);
        Assert.Equal("10.244.1.0-24", (await watch.NextAsync()).Key);

        etcd.StopMember(0);
        // Down for a while: the watcher retries with backoff meanwhile.
        await Task.Delay(TimeSpan.FromSeconds(2));
        etcd.RestartMember(0);
        // Another client writes right after the restart, before the watcher has necessarily reconnected.
        await using EtcdLeaseStore other = Etcd.Store(etcd.ClientUrls, prefix);
        LeaseRecord two = (await other.TryCreateAsync("10.244.2.0-24", "{\"n\":2}", Day, CancellationToken.None))!;
        LeaseRecord three = (await other.UpdateAsync("10.244.2.0-24", "{\"n\":3}", Day, two.Revision, CancellationToken.None))!;

        LeaseChange c2 = await watch.NextAsync();
        LeaseChange c3 = await watch.NextAsync();
        Assert.Equal(("10.244.2.0-24", two.Revision, "{\"n\":2}"), (c2.Key, c2.Revision, c2.Record!.Value));
        Assert.Equal(("10.244.2.0-24", three.Revision, "{\"n\":3}"), (c3.Key, c3.Revision, c3.Record!.Value));
    }
}
