using System.Net;
using Twill.Core;
using Twill.Testing;

namespace Twill.Leases.Etcd.Tests;

/// <summary>The lease manager over the etcd store: whole nodes acquiring their subnets from one etcd.</summary>
public sealed class EtcdLeaseManagerTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>
{
    private readonly EtcdServer _server = etcd.Server;

    [Fact]
    public async Task AcquireAsync_FiftyNodesAtOnce_FiftyDistinctSubnets()
    {
        const int Nodes = 50;
        string prefix = Etcd.FreshPrefix();
        NetworkConfig config = NetworkConfig.Parse("{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}", out _);
        // Ten connections shared by the fifty nodes: enough contention, without fifty gRPC channels on two cores.
        EtcdLeaseStore[] stores = [.. Enumerable.Range(0, 10).Select(_ => Etcd.Store(_server.ClientUrls, prefix))];
        try
        {
            Task<Lease>[] nodes = [.. Enumerable.Range(1, Nodes).Select(n => Task.Run(() =>
                new LeaseManager(stores[n % stores.Length], config, new LeaseManagerOptions { Random = new Random(n) })
                    .AcquireAsync(LeaseAttrs.ForHostGw(IPAddress.Parse($"192.0.2.{n}")), CancellationToken.None)))];
            Lease[] leases = await Task.WhenAll(nodes);

            Assert.Equal(Nodes, leases.Select(l => l.Key).Distinct().Count());
            Store.LeaseListing listing = await stores[0].ListAsync(CancellationToken.None);
            Assert.Equal(leases.Select(l => l.Key).Order(), listing.Records.Select(r => r.Key).Order());
            // Each record holds the node that believes it owns it.
            foreach (Lease lease in leases)
            {
                Store.LeaseRecord record = listing.Records.Single(r => r.Key == lease.Key);
                Assert.Equal(lease.Attrs.PublicIP, LeaseAttrs.Parse(record.Value).PublicIP);
            }
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
    public async Task AcquireAsync_Slash28Network_HandsOutEverySubnetThenExhausted()
    {
        string prefix = Etcd.FreshPrefix();
        // A /28 gets /30 subnets (prefix + 2); the first is skipped (SubnetMin): three to hand out.
        NetworkConfig config = NetworkConfig.Parse("{\"Network\":\"10.244.0.0/28\",\"Backend\":{\"Type\":\"host-gw\"}}", out _);
        await using EtcdLeaseStore store = Etcd.Store(_server.ClientUrls, prefix);

        List<Lease> leases = [];
        for (int n = 1; n <= 3; n++)
        {
            leases.Add(await new LeaseManager(store, config).AcquireAsync(LeaseAttrs.ForHostGw(IPAddress.Parse($"192.0.2.{n}")), CancellationToken.None));
        }
        SubnetPoolExhaustedException full = await Assert.ThrowsAsync<SubnetPoolExhaustedException>(() =>
            new LeaseManager(store, config).AcquireAsync(LeaseAttrs.ForHostGw(IPAddress.Parse("192.0.2.4")), CancellationToken.None));

        Assert.Equal(["10.244.0.12-30", "10.244.0.4-30", "10.244.0.8-30"], leases.Select(l => l.Key).Order());
        Assert.Contains("10.244.0.0/28", full.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await store.ListAsync(CancellationToken.None)).Records.Count);
    }
}
