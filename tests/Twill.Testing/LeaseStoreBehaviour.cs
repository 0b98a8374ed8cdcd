using System.Net;
using System.Net.NetworkInformation;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Testing;

/// <summary>
/// One store as the lease-store suite drives it: "this node" (a store and the manager options it needs)
/// and "another node" publishing, changing and removing its lease the way that store's other writers do
/// (file/etcd: another store instance writing a record; Kubernetes: a Node object through the API).
/// </summary>
public abstract class LeaseStoreHarness : IAsyncDisposable
{
    /// <summary>The network every suite test uses: vxlan, VNI 4096, /24 subnets.</summary>
    public static NetworkConfig Config { get; } = NetworkConfig.Parse("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096}}""", out _);

    /// <summary>This node's subnet in every test (chosen through subnet.env, or assigned by the cluster).</summary>
    public static LeaseSubnets OwnSubnets { get; } = new(IPNetwork.Parse("10.244.1.0/24"));

    /// <summary>
    /// True when records expire unless renewed (file, etcd: Flannel's 24 h TTL); false when the cluster
    /// assigns subnets and records live as long as the object (Kubernetes: a Node has no TTL, it goes
    /// away only when deleted).
    /// </summary>
    public abstract bool RecordsExpire { get; }

    /// <summary>A store for this node; <paramref name="warn"/> hears what the store itself skips (Kubernetes validates nodes in the store).</summary>
    public abstract ILeaseStore CreateOwnStore(Action<string> warn);

    /// <summary>The options this node's manager needs with that store (the subnet it takes: subnet.env, or the store's assignment).</summary>
    public abstract LeaseManagerOptions ManagerOptions(ILeaseStore store);

    /// <summary>Registers this node before it acquires (Kubernetes: the kubelet's Node with its podCIDR); nothing for stores where the node leases itself.</summary>
    public virtual Task PrepareOwnNodeAsync() => Task.CompletedTask;

    /// <summary>Another node publishes (or re-publishes) its lease for <paramref name="subnet"/>.</summary>
    public abstract Task PublishPeerAsync(string node, string subnet, LeaseAttrs attrs);

    /// <summary>Another node publishes a record that is not a valid lease (broken JSON in the backend data).</summary>
    public abstract Task PublishCorruptPeerAsync(string node, string subnet);

    /// <summary>Another node publishes with a lifetime of <paramref name="ttl"/> (only called when <see cref="RecordsExpire"/>).</summary>
    public virtual Task PublishExpiringPeerAsync(string node, string subnet, LeaseAttrs attrs, TimeSpan ttl) =>
        throw new NotSupportedException("records of this store do not expire");

    /// <summary>Another node's lease goes away (record deleted, Node deleted).</summary>
    public abstract Task RemovePeerAsync(string node, string subnet);

    /// <summary>What a skipped record's warning names: the record key (file, etcd) or the node name (Kubernetes).</summary>
    public abstract string WarningSubject(string node, string subnet);

    /// <summary>
    /// Cuts this node's live watch the way the store's connection breaks: etcd restarted, the API server
    /// restarted. Changes are made after it returns and must arrive exactly once.
    /// </summary>
    public abstract Task InterruptWatchAsync();

    /// <summary>A second, independent reader of the store (another node's store instance).</summary>
    public abstract ILeaseStore CreateOtherReader();

    public abstract ValueTask DisposeAsync();

    public static LeaseAttrs Vxlan(string publicIP, string mac) =>
        LeaseAttrs.ForVxlan(IPAddress.Parse(publicIP), new VxlanLeaseData(4096, PhysicalAddress.Parse(mac.Replace(':', '-'))));
}

/// <summary>
/// The lease-store contract as the agent sees it, through <see cref="LeaseManager"/> (acquire, then
/// <see cref="LeaseManager.WatchPeersAsync"/>): the peer events the plan and reconciler depend on,
/// whichever store feeds them. Each store's test project derives one class with its harness.
/// </summary>
public abstract class LeaseStoreBehaviour : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly List<string> _warnings = [];
    private LeaseStoreHarness? _harness;

    protected abstract LeaseStoreHarness CreateHarness();

    protected LeaseStoreHarness Harness => _harness ?? throw new InvalidOperationException("not initialised");

    public Task InitializeAsync()
    {
        _harness = CreateHarness();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }
    }

    private static readonly LeaseAttrs OwnAttrs = LeaseStoreHarness.Vxlan("192.0.2.1", "02:00:00:00:00:01");

    [Fact]
    public async Task Snapshot_ListsExistingPeers_NotOurselves()
    {
        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await Harness.PublishPeerAsync("n3", "10.244.3.0/24", LeaseStoreHarness.Vxlan("192.0.2.3", "02:00:00:00:00:03"));
        await using Node node = await StartAsync();

        PeerEvent snapshot = await node.NextAsync();

        Assert.Equal(PeerEventKind.Snapshot, snapshot.Kind);
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24"], snapshot.Peers.Select(p => p.Key).Order());
        Assert.Equal("02:00:00:00:00:03", snapshot.Peers.Single(p => p.Key == "10.244.3.0-24").Attrs.VxlanData!.VtepMacText);
        Assert.Equal(LeaseStoreHarness.OwnSubnets.ToKey(), node.Manager.Current!.Key);
    }

    [Fact]
    public async Task PeerAppears_Added_WithItsSubnetPublicIPAndBackendData()
    {
        await using Node node = await StartAsync();
        Assert.Empty((await node.NextAsync()).Peers);

        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        PeerEvent added = await node.NextAsync();

        Assert.Equal((PeerEventKind.Added, "10.244.2.0-24"), (added.Kind, added.Lease!.Key));
        Assert.Equal(IPAddress.Parse("192.0.2.2"), added.Lease.Attrs.PublicIP);
        Assert.Equal("vxlan", added.Lease.Attrs.BackendType);
        Assert.Equal((4096, "02:00:00:00:00:02"), (added.Lease.Attrs.VxlanData!.Vni, added.Lease.Attrs.VxlanData.VtepMacText));
        Assert.Equal(["10.244.2.0-24"], added.Peers.Select(p => p.Key));
    }

    [Fact]
    public async Task PeerChangesPublicIPOrVtepMac_Changed()
    {
        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await using Node node = await StartAsync();
        Assert.Single((await node.NextAsync()).Peers);

        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:22"));
        PeerEvent mac = await node.NextAsync();
        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.22", "02:00:00:00:00:22"));
        PeerEvent ip = await node.NextAsync();

        Assert.Equal((PeerEventKind.Changed, "10.244.2.0-24", "02:00:00:00:00:22"), (mac.Kind, mac.Lease!.Key, mac.Lease.Attrs.VxlanData!.VtepMacText));
        Assert.Equal((PeerEventKind.Changed, "10.244.2.0-24", IPAddress.Parse("192.0.2.22")), (ip.Kind, ip.Lease!.Key, ip.Lease.Attrs.PublicIP));
        Assert.Single(ip.Peers);
    }

    [Fact]
    public async Task PeerRemoved_Removed()
    {
        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await Harness.PublishPeerAsync("n3", "10.244.3.0/24", LeaseStoreHarness.Vxlan("192.0.2.3", "02:00:00:00:00:03"));
        await using Node node = await StartAsync();
        Assert.Equal(2, (await node.NextAsync()).Peers.Count);

        await Harness.RemovePeerAsync("n2", "10.244.2.0/24");
        PeerEvent removed = await node.NextAsync();

        Assert.Equal((PeerEventKind.Removed, "10.244.2.0-24"), (removed.Kind, removed.Lease!.Key));
        Assert.Equal(["10.244.3.0-24"], removed.Peers.Select(p => p.Key));
    }

    [Fact]
    public async Task PeerNotRenewed_ExpiresAsRemoved_OrNeverExpiresWhereTheClusterAssigns()
    {
        if (!Harness.RecordsExpire)
        {
            // Assigned-subnet stores: a record lives as long as its node; what must hold is that no expiry is invented.
            await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
            await using Node assigned = await StartAsync();
            Lease peer = Assert.Single((await assigned.NextAsync()).Peers);
            Assert.Equal(DateTimeOffset.MaxValue, peer.Expiration);
            Assert.Equal(DateTimeOffset.MaxValue, assigned.Manager.Current!.Expiration);
            return;
        }
        await using Node node = await StartAsync();
        Assert.Empty((await node.NextAsync()).Peers);

        await Harness.PublishExpiringPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"), TimeSpan.FromSeconds(2));
        PeerEvent added = await node.NextAsync();
        PeerEvent expired = await node.NextAsync();

        Assert.Equal((PeerEventKind.Added, "10.244.2.0-24"), (added.Kind, added.Lease!.Key));
        Assert.Equal((PeerEventKind.Removed, "10.244.2.0-24"), (expired.Kind, expired.Lease!.Key));
        Assert.Empty(expired.Peers);
    }

    [Fact]
    public async Task CorruptPeer_SkippedWithOneWarningNamingIt_OthersUnaffected()
    {
        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await Harness.PublishCorruptPeerAsync("bad", "10.244.9.0/24");
        await using Node node = await StartAsync();

        PeerEvent snapshot = await node.NextAsync();
        await Harness.PublishPeerAsync("n3", "10.244.3.0/24", LeaseStoreHarness.Vxlan("192.0.2.3", "02:00:00:00:00:03"));
        PeerEvent added = await node.NextAsync();

        Assert.Equal(["10.244.2.0-24"], snapshot.Peers.Select(p => p.Key));
        Assert.Equal((PeerEventKind.Added, "10.244.3.0-24"), (added.Kind, added.Lease!.Key));
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24"], added.Peers.Select(p => p.Key).Order());
        string subject = Harness.WarningSubject("bad", "10.244.9.0/24");
        Assert.Single(Warnings(), w => w.Contains(subject, StringComparison.Ordinal));
    }

    [Fact]
    public async Task PeerClaimingOurSubnet_NeverAPeer()
    {
        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await using Node node = await StartAsync();
        Assert.Single((await node.NextAsync()).Peers);

        await Harness.PublishPeerAsync("thief", "10.244.1.0/24", LeaseStoreHarness.Vxlan("192.0.2.66", "02:00:00:00:00:66"));
        // A marker after the claim: whatever the claim produced came before it.
        await Harness.PublishPeerAsync("n3", "10.244.3.0/24", LeaseStoreHarness.Vxlan("192.0.2.3", "02:00:00:00:00:03"));
        List<PeerEvent> events = [await node.NextAsync()];
        while (events[^1].Lease?.Key != "10.244.3.0-24")
        {
            events.Add(await node.NextAsync());
        }

        Assert.All(events, e => Assert.DoesNotContain(e.Peers, p => p.Key == "10.244.1.0-24" || p.Attrs.PublicIP.Equals(IPAddress.Parse("192.0.2.66"))));
        Assert.DoesNotContain(events, e => e.Lease?.Attrs.PublicIP.Equals(IPAddress.Parse("192.0.2.66")) == true);
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24"], node.Manager.Peers.ToArray().Select(p => p.Key).Order());
    }

    [Fact]
    public async Task WatchInterruptedAndResumed_NoMissedNoDuplicatedEvent_StateEqualsTheStore()
    {
        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await using Node node = await StartAsync();
        Assert.Single((await node.NextAsync()).Peers);

        await Harness.InterruptWatchAsync();
        await Harness.PublishPeerAsync("n3", "10.244.3.0/24", LeaseStoreHarness.Vxlan("192.0.2.3", "02:00:00:00:00:03"));
        await Harness.RemovePeerAsync("n2", "10.244.2.0/24");
        await Harness.PublishPeerAsync("n3", "10.244.3.0/24", LeaseStoreHarness.Vxlan("192.0.2.33", "02:00:00:00:00:03"));

        // Either the three changes one by one, or (a store that could not replay) one snapshot of the result:
        // never an event twice, never a lost one.
        List<PeerEvent> events = [await node.NextAsync()];
        while (!(events[^1].Lease?.Attrs.PublicIP.Equals(IPAddress.Parse("192.0.2.33")) == true
            || events[^1].Kind == PeerEventKind.Snapshot && events[^1].Peers.Any(p => p.Attrs.PublicIP.Equals(IPAddress.Parse("192.0.2.33"))) && events[^1].Peers.Count == 1))
        {
            events.Add(await node.NextAsync());
        }
        List<PeerEvent> incremental = [.. events.Where(e => e.Kind != PeerEventKind.Snapshot)];
        if (events.All(e => e.Kind != PeerEventKind.Snapshot))
        {
            Assert.Equal([(PeerEventKind.Added, "10.244.3.0-24"), (PeerEventKind.Removed, "10.244.2.0-24"), (PeerEventKind.Changed, "10.244.3.0-24")],
                incremental.Select(e => (e.Kind, e.Lease!.Key)));
        }
        await using ILeaseStore other = Harness.CreateOtherReader();
        LeaseListing listing = await other.ListAsync(CancellationToken.None);
        Assert.Equal(listing.Records.Select(r => r.Key).Where(k => k != LeaseStoreHarness.OwnSubnets.ToKey()).Order(),
            node.Manager.Peers.ToArray().Select(p => p.Key).Order());
        Assert.Equal(IPAddress.Parse("192.0.2.33"), Assert.Single(node.Manager.Peers.ToArray()).Attrs.PublicIP);
        // A marker: nothing replayed from before the interruption arrives after the state settled.
        await Harness.PublishPeerAsync("n4", "10.244.4.0/24", LeaseStoreHarness.Vxlan("192.0.2.4", "02:00:00:00:00:04"));
        PeerEvent marker = await node.NextAsync();
        Assert.Equal((PeerEventKind.Added, "10.244.4.0-24"), (marker.Kind, marker.Lease!.Key));
    }

    [Fact]
    public async Task AgentRestarted_PeerRemovedWhileDown_NotInTheNextSnapshot()
    {
        await Harness.PublishPeerAsync("n2", "10.244.2.0/24", LeaseStoreHarness.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await Harness.PublishPeerAsync("n3", "10.244.3.0/24", LeaseStoreHarness.Vxlan("192.0.2.3", "02:00:00:00:00:03"));
        await using (Node before = await StartAsync())
        {
            Assert.Equal(2, (await before.NextAsync()).Peers.Count);
        }

        await Harness.RemovePeerAsync("n2", "10.244.2.0/24");
        await using Node node = await StartAsync();
        PeerEvent snapshot = await node.NextAsync();

        // The agent replaces its peers with the snapshot, so the reconcile at start removes n2's routes.
        Assert.Equal(PeerEventKind.Snapshot, snapshot.Kind);
        Assert.Equal(["10.244.3.0-24"], snapshot.Peers.Select(p => p.Key));
    }

    [Fact]
    public async Task OwnLease_PublishedInFlannelsFormat_ReadableByAnotherInstance()
    {
        await using Node node = await StartAsync();

        await using ILeaseStore other = Harness.CreateOtherReader();
        LeaseListing listing = await other.ListAsync(CancellationToken.None);
        LeaseRecord record = Assert.Single(listing.Records, r => r.Key == LeaseStoreHarness.OwnSubnets.ToKey());

        Assert.True(Lease.TryFromRecord(record, out Lease? lease, out string? error), error);
        Assert.Equal(OwnAttrs, lease.Attrs);
        Assert.Equal("""{"PublicIP":"192.0.2.1","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"02:00:00:00:00:01"}}""", record.Value);
    }

    private List<string> Warnings()
    {
        lock (_warnings)
        {
            return [.. _warnings];
        }
    }

    private void Warn(string message)
    {
        lock (_warnings)
        {
            _warnings.Add(message);
        }
    }

    private async Task<Node> StartAsync()
    {
        await Harness.PrepareOwnNodeAsync();
        ILeaseStore store = Harness.CreateOwnStore(Warn);
        LeaseManager manager = new(store, LeaseStoreHarness.Config, Harness.ManagerOptions(store), new WarningLogger(Warn));
        Lease own = await manager.AcquireAsync(OwnAttrs, CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(LeaseStoreHarness.OwnSubnets.ToKey(), own.Key);
        return new Node(store, manager);
    }

    /// <summary>This node: its store, its manager, and its peer events pumped into a channel so a test can await the next with a deadline.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly Channel<PeerEvent> _events = Channel.CreateUnbounded<PeerEvent>();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _pump;
        private readonly ILeaseStore _store;

        public Node(ILeaseStore store, LeaseManager manager)
        {
            _store = store;
            Manager = manager;
            _pump = Task.Run(async () =>
            {
                try
                {
                    await foreach (PeerEvent e in manager.WatchPeersAsync(_stop.Token))
                    {
                        await _events.Writer.WriteAsync(e, CancellationToken.None);
                    }
                }
                catch (OperationCanceledException)
                {
                }
                catch (Exception e)
                {
                    _events.Writer.TryComplete(e);
                }
                _events.Writer.TryComplete();
            });
        }

        public LeaseManager Manager { get; }

        public async Task<PeerEvent> NextAsync()
        {
            using CancellationTokenSource timeout = new(Deadline);
            try
            {
                return await _events.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"no peer event within {Deadline.TotalSeconds:F0} s");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _pump;
            _stop.Dispose();
            await _store.DisposeAsync();
        }
    }

    /// <summary>The manager's warnings (skipped records) into the test's list.</summary>
    private sealed class WarningLogger(Action<string> warn) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                warn(formatter(state, exception));
            }
        }
    }
}
