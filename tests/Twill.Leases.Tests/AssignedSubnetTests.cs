using System.Net;
using Twill.Core;
using Twill.Leases.Store;

namespace Twill.Leases.Tests;

/// <summary>The lease manager over a store that assigns subnets (the Kubernetes store's contract), with an in-memory store.</summary>
public class AssignedSubnetTests
{
    private static readonly NetworkConfig Config = PeerSetTests.Vxlan;

    /// <summary>An in-memory store whose subnet for this node is fixed by "the cluster", without TTLs.</summary>
    private sealed class AssigningStore(LeaseSubnets assigned) : ILeaseStore, IAssignedSubnetStore
    {
        private readonly InMemoryLeaseStore _inner = new();

        public List<string> Published { get; } = [];

        public int AssignmentCalls;

        public string Description => "assigning:";

        public Task<LeaseSubnets> WaitForAssignedSubnetsAsync(NetworkConfig config, CancellationToken cancellationToken)
        {
            AssignmentCalls++;
            return Task.FromResult(assigned);
        }

        public Task<AssignedNodeState> ReadOwnStateAsync(CancellationToken cancellationToken) => Task.FromResult(new AssignedNodeState("n1", null, null, null, null));

        public Task MarkNetworkAvailableAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

        public int ListCalls;

        /// <summary>A peer's record written straight into the store (another node publishing).</summary>
        public void PutPeer(string key, string value) => _inner.Put(key, value);

        public Task<LeaseListing> ListAsync(CancellationToken cancellationToken)
        {
            ListCalls++;
            return _inner.ListAsync(cancellationToken);
        }

        public Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("an assigning store is never asked to create a chosen subnet");

        public Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken)
        {
            Published.Add(key + " " + value);
            LeaseRecord r = _inner.Put(key, value);
            return Task.FromResult(r with { Expiration = DateTimeOffset.MaxValue });
        }

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => _inner.DeleteAsync(key, cancellationToken);

        public IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, CancellationToken cancellationToken) => _inner.WatchAsync(afterRevision, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Acquire_AssigningStore_TakesTheAssignedSubnetAndPublishesOnIt()
    {
        AssigningStore store = new(LeaseSubnets.ParseKey("10.244.7.0-24"));
        LeaseManager manager = new(store, Config, new LeaseManagerOptions { PreviousSubnets = LeaseSubnets.ParseKey("10.244.3.0-24") });
        LeaseAttrs attrs = LeaseAttrs.Parse(PeerSetTests.VxlanValue("192.0.2.7"));

        Lease lease = await manager.AcquireAsync(attrs, CancellationToken.None);

        Assert.Equal("10.244.7.0-24", lease.Key);
        Assert.Equal(DateTimeOffset.MaxValue, lease.Expiration);
        Assert.Equal([$"10.244.7.0-24 {attrs.ToJson()}"], store.Published);
        Assert.Same(lease, manager.Current);
    }

    [Fact]
    public async Task Acquire_WrappedStore_AssignmentGivenInOptions()
    {
        AssigningStore inner = new(LeaseSubnets.ParseKey("10.244.8.0-24"));
        LeaseManager manager = new(new Wrapper(inner), Config, new LeaseManagerOptions { AssignedSubnets = inner });

        Lease lease = await manager.AcquireAsync(LeaseAttrs.Parse(PeerSetTests.VxlanValue("192.0.2.8")), CancellationToken.None);

        Assert.Equal("10.244.8.0-24", lease.Key);
        Assert.Equal(1, inner.AssignmentCalls);
    }

    [Fact]
    public async Task WatchPeers_AfterAnAssignedAcquire_StartsFromTheAcquireListingAndMissesNothingSince()
    {
        AssigningStore store = new(LeaseSubnets.ParseKey("10.244.7.0-24"));
        store.PutPeer("10.244.1.0-24", PeerSetTests.VxlanValue("192.0.2.1"));
        int revised = 0;
        LeaseManager manager = new(store, Config, new LeaseManagerOptions
        {
            ReviseAttrs = (others, attrs) =>
            {
                revised = others.Count;
                return attrs;
            },
        });
        await manager.AcquireAsync(LeaseAttrs.Parse(PeerSetTests.VxlanValue("192.0.2.7")), CancellationToken.None);
        // Published after the acquire's listing, before the watch: the watch from that listing's revision must bring it.
        store.PutPeer("10.244.2.0-24", PeerSetTests.VxlanValue("192.0.2.2"));
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(30));

        List<PeerEvent> events = [];
        await foreach (PeerEvent e in manager.WatchPeersAsync(cts.Token))
        {
            events.Add(e);
            if (events.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(1, revised);
        Assert.Equal(1, store.ListCalls); // the acquire's listing was the peers' first snapshot
        Assert.Equal(PeerEventKind.Snapshot, events[0].Kind);
        Assert.Equal(["10.244.1.0-24"], events[0].Peers.Select(p => p.Key));
        Assert.Equal(PeerEventKind.Added, events[1].Kind);
        Assert.Equal("10.244.2.0-24", events[1].Lease!.Key);
    }

    [Fact]
    public async Task RunRenewal_NoTtl_NeverRenews()
    {
        AssigningStore store = new(LeaseSubnets.ParseKey("10.244.7.0-24"));
        LeaseManager manager = new(store, Config, new LeaseManagerOptions { RenewMargin = TimeSpan.FromDays(3650) });
        await manager.AcquireAsync(LeaseAttrs.Parse(PeerSetTests.VxlanValue("192.0.2.7")), CancellationToken.None);
        using CancellationTokenSource cts = new(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => manager.RunRenewalAsync(cts.Token));

        Assert.Single(store.Published); // only the acquisition's publication
    }

    /// <summary>A decorator, as the agent's observing wrapper: it hides the inner store's capability.</summary>
    private sealed class Wrapper(ILeaseStore inner) : ILeaseStore
    {
        public string Description => inner.Description;

        public Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken) => inner.GetNetworkConfigAsync(cancellationToken);

        public Task<LeaseListing> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken) => inner.TryCreateAsync(key, value, ttl, cancellationToken);

        public Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken) =>
            inner.UpdateAsync(key, value, ttl, expectedRevision, cancellationToken);

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        public IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, CancellationToken cancellationToken) => inner.WatchAsync(afterRevision, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
