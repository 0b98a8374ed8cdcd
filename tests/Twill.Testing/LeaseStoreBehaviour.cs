using System.Net;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Testing;

/// <summary>
/// The lease-store contract as the agent sees it, through <see cref="LeaseManager"/> (acquire, renew,
/// then <see cref="LeaseManager.WatchPeersAsync"/>), and the store's own watch below it (resume from a
/// revision, compaction): the peer events the plan and reconciler depend on, whichever store feeds them.
/// Each store's test project derives one class with its harness; where a store differs by design, the
/// harness declares it and the test asserts that store's side (never a silent skip).
/// </summary>
public abstract class LeaseStoreBehaviour : IAsyncLifetime
{
    private static readonly LeaseAttrs OwnAttrs = LeaseStoreHarness.Vxlan("192.0.2.1", "02:00:00:00:00:01");
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

    private static LeaseAttrs Peer(int n, string? mac = null) => LeaseStoreHarness.Vxlan($"192.0.2.{n}", mac ?? $"02:00:00:00:00:{n:x2}");

    private Task Publish(string node, int n, string? mac = null, string? ip = null) =>
        Harness.PublishPeerAsync(node, $"10.244.{n}.0/24", ip is null ? Peer(n, mac) : LeaseStoreHarness.Vxlan(ip, mac ?? $"02:00:00:00:00:{n:x2}"));

    [Fact]
    public async Task Snapshot_ListsExistingPeers_NotOurselves()
    {
        await Publish("n2", 2);
        await Publish("n3", 3);
        await using SuiteNode node = await StartAsync();

        PeerEvent snapshot = await node.NextAsync();

        Assert.Equal(PeerEventKind.Snapshot, snapshot.Kind);
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24"], snapshot.Peers.Select(p => p.Key).Order());
        Assert.Equal("02:00:00:00:00:03", snapshot.Peers.Single(p => p.Key == "10.244.3.0-24").Attrs.VxlanData!.VtepMacText);
        Assert.Equal(LeaseStoreHarness.OwnSubnets.ToKey(), node.Manager.Current!.Key);
    }

    [Fact]
    public async Task PeerAppears_Added_WithItsSubnetPublicIPAndBackendData()
    {
        await using SuiteNode node = await StartAsync();
        Assert.Empty((await node.NextAsync()).Peers);

        await Publish("n2", 2);
        PeerEvent added = await node.NextAsync();

        Assert.Equal((PeerEventKind.Added, "10.244.2.0-24"), (added.Kind, added.Lease!.Key));
        Assert.Equal(IPAddress.Parse("192.0.2.2"), added.Lease.Attrs.PublicIP);
        Assert.Equal("vxlan", added.Lease.Attrs.BackendType);
        Assert.Equal((4096, "02:00:00:00:00:02"), (added.Lease.Attrs.VxlanData!.Vni, added.Lease.Attrs.VxlanData.VtepMacText));
        Assert.Equal(["10.244.2.0-24"], node.Manager.Peers.ToArray().Select(p => p.Key));
    }

    [Fact]
    public async Task PeerChangesPublicIPOrVtepMac_Changed()
    {
        await Publish("n2", 2);
        await using SuiteNode node = await StartAsync();
        Assert.Single((await node.NextAsync()).Peers);

        await Publish("n2", 2, mac: "02:00:00:00:00:22");
        PeerEvent mac = await node.NextAsync();
        await Publish("n2", 2, mac: "02:00:00:00:00:22", ip: "192.0.2.22");
        PeerEvent ip = await node.NextAsync();

        Assert.Equal((PeerEventKind.Changed, "10.244.2.0-24", "02:00:00:00:00:22"), (mac.Kind, mac.Lease!.Key, mac.Lease.Attrs.VxlanData!.VtepMacText));
        Assert.Equal((PeerEventKind.Changed, "10.244.2.0-24", IPAddress.Parse("192.0.2.22")), (ip.Kind, ip.Lease!.Key, ip.Lease.Attrs.PublicIP));
        Assert.Single(node.Manager.Peers.ToArray());
    }

    [Fact]
    public async Task PeerRemoved_Removed()
    {
        await Publish("n2", 2);
        await Publish("n3", 3);
        await using SuiteNode node = await StartAsync();
        Assert.Equal(2, (await node.NextAsync()).Peers.Count);

        await Harness.RemovePeerAsync("n2", "10.244.2.0/24");
        PeerEvent removed = await node.NextAsync();

        Assert.Equal((PeerEventKind.Removed, "10.244.2.0-24"), (removed.Kind, removed.Lease!.Key));
        Assert.Equal(["10.244.3.0-24"], node.Manager.Peers.ToArray().Select(p => p.Key));
    }

    [Fact]
    public async Task ChangesMadeBackToBack_ArriveOneByOneInOrder_OrMergedWhereOnlyThePresentIsKept()
    {
        await using SuiteNode node = await StartAsync();
        Assert.Empty((await node.NextAsync()).Peers);

        // No waiting between the writes.
        await Publish("n2", 2);
        await Publish("n3", 3);
        await Publish("n2", 2, mac: "02:00:00:00:00:22");
        await Harness.RemovePeerAsync("n3", "10.244.3.0/24");
        List<PeerEvent> events = [];
        if (Harness.KeepsHistory)
        {
            // Every change, one by one, in the order made: the store replays its history.
            for (int i = 0; i < 4; i++)
            {
                events.Add(await node.NextAsync());
            }
            Assert.Equal([(PeerEventKind.Added, "10.244.2.0-24"), (PeerEventKind.Added, "10.244.3.0-24"), (PeerEventKind.Changed, "10.244.2.0-24"), (PeerEventKind.Removed, "10.244.3.0-24")],
                events.Select(e => (e.Kind, e.Lease!.Key)));
            Assert.Equal("02:00:00:00:00:22", events[2].Lease!.Attrs.VxlanData!.VtepMacText);
        }
        else
        {
            // The store reads each changed record's present state: a value overwritten or a record deleted before
            // the watch read it may be merged away, but what arrives is in order and ends in the store's state.
            while (!(Fold(events) is [Lease only] && only.Attrs.VxlanData!.VtepMacText == "02:00:00:00:00:22"))
            {
                events.Add(await node.NextAsync());
            }
            Assert.DoesNotContain(events, e => e.Kind == PeerEventKind.Snapshot);
            // n2 written again after n3 may arrive after n3 (its first write merged into its last): per record,
            // the events are in order — added first, its present value last.
            PeerEvent[] n2 = [.. events.Where(e => e.Lease!.Key == "10.244.2.0-24")];
            Assert.Equal(PeerEventKind.Added, n2[0].Kind);
            Assert.Equal("02:00:00:00:00:22", n2[^1].Lease!.Attrs.VxlanData!.VtepMacText);
            PeerEvent[] n3 = [.. events.Where(e => e.Lease!.Key == "10.244.3.0-24")];
            Assert.True(n3.Length == 0 || (n3[0].Kind, n3[^1].Kind) == (PeerEventKind.Added, PeerEventKind.Removed), "n3: " + string.Join(", ", n3.Select(e => e.Kind)));
        }
        Assert.Equal("02:00:00:00:00:22", Assert.Single(node.Manager.Peers.ToArray()).Attrs.VxlanData!.VtepMacText);
        // A marker: nothing older arrives after the state settled.
        await Publish("n4", 4);
        PeerEvent marker = await node.NextAsync();
        Assert.True((PeerEventKind.Added, "10.244.4.0-24") == (marker.Kind, marker.Lease?.Key), "events: " + node.Received);
    }

    [Fact]
    public async Task PeerNotRenewed_ExpiresAsRemoved_OrNeverExpiresWhereRecordsHaveNoTtl()
    {
        if (!Harness.RecordsExpire)
        {
            // The Node is the lease: it lives as long as the object, and no expiry is invented.
            await Publish("n2", 2);
            await using SuiteNode assigned = await StartAsync();
            Lease peer = Assert.Single((await assigned.NextAsync()).Peers);
            Assert.Equal(DateTimeOffset.MaxValue, peer.Expiration);
            Assert.Equal(DateTimeOffset.MaxValue, assigned.Manager.Current!.Expiration);
            return;
        }
        await using SuiteNode node = await StartAsync();
        Assert.Empty((await node.NextAsync()).Peers);

        await Harness.PublishExpiringPeerAsync("n2", "10.244.2.0/24", Peer(2), TimeSpan.FromSeconds(2));
        PeerEvent added = await node.NextAsync();
        PeerEvent expired = await node.NextAsync();

        Assert.Equal((PeerEventKind.Added, "10.244.2.0-24"), (added.Kind, added.Lease!.Key));
        Assert.InRange(added.Lease.Expiration, DateTimeOffset.UtcNow - TimeSpan.FromSeconds(30), DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3));
        Assert.Equal((PeerEventKind.Removed, "10.244.2.0-24"), (expired.Kind, expired.Lease!.Key));
        Assert.Empty(node.Manager.Peers.ToArray());
    }

    [Fact]
    public async Task Renew_KeepsTheLeaseAndItsValue_WithAFreshTtlWhereRecordsExpire()
    {
        await using SuiteNode node = await StartAsync();
        Lease before = node.Manager.Current!;

        Lease renewed = await node.Manager.RenewAsync(CancellationToken.None).WaitAsync(SuiteNode.Deadline);

        Assert.Equal((before.Key, before.Attrs), (renewed.Key, renewed.Attrs));
        Assert.Equal(Harness.FlannelsPublication(OwnAttrs), await Harness.ReadOwnPublicationAsync());
        if (Harness.RecordsExpire)
        {
            // A renewal is a write with a new TTL (Flannel's 24 h from now).
            Assert.True(renewed.Revision > before.Revision, $"revision {renewed.Revision} after {before.Revision}");
            Assert.InRange(renewed.Expiration, DateTimeOffset.UtcNow + TimeSpan.FromHours(24) - TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow + TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));
        }
        else
        {
            // Nothing to renew: the annotations are already there, so nothing is written and nothing expires.
            Assert.Equal((DateTimeOffset.MaxValue, before.Revision), (renewed.Expiration, renewed.Revision));
        }
    }

    [Fact]
    public async Task Renew_OwnRecordTakenByAnotherNode_LeaseLost_OrUntakeableWhereTheClusterAssigns()
    {
        LeaseAttrs thief = LeaseStoreHarness.Vxlan("192.0.2.66", "02:00:00:00:00:66");
        await using SuiteNode node = await StartAsync();

        if (Harness.SubnetsAssignedByCluster)
        {
            // Another node claiming this node's podCIDR changes nothing of this node's lease.
            await Harness.PublishPeerAsync("thief", "10.244.1.0/24", thief);
            Lease renewed = await node.Manager.RenewAsync(CancellationToken.None).WaitAsync(SuiteNode.Deadline);
            Assert.Equal(OwnAttrs, renewed.Attrs);
            Assert.Equal(Harness.FlannelsPublication(OwnAttrs), await Harness.ReadOwnPublicationAsync());
            return;
        }
        await Harness.TakeOverOwnRecordAsync(thief);

        LeaseLostException lost = await Assert.ThrowsAsync<LeaseLostException>(() => node.Manager.RenewAsync(CancellationToken.None).WaitAsync(SuiteNode.Deadline));

        Assert.Contains(LeaseStoreHarness.OwnSubnets.ToKey(), lost.Message, StringComparison.Ordinal);
        // The other node's write stays: a renewal never overwrites a record that changed under it.
        await using ILeaseStore other = Harness.CreateOtherReader();
        LeaseRecord record = Assert.Single((await other.ListAsync(CancellationToken.None)).Records);
        Assert.Equal(thief, LeaseAttrs.Parse(record.Value));
    }

    [Fact]
    public async Task CorruptPeer_SkippedWithOneWarningNamingIt_OthersUnaffected()
    {
        await Publish("n2", 2);
        await Harness.PublishCorruptPeerAsync("bad", "10.244.9.0/24");
        await using SuiteNode node = await StartAsync();

        PeerEvent snapshot = await node.NextAsync();
        await Publish("n3", 3);
        PeerEvent added = await node.NextAsync();

        Assert.Equal(["10.244.2.0-24"], snapshot.Peers.Select(p => p.Key));
        Assert.Equal((PeerEventKind.Added, "10.244.3.0-24"), (added.Kind, added.Lease!.Key));
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24"], node.Manager.Peers.ToArray().Select(p => p.Key).Order());
        string subject = Harness.WarningSubject("bad", "10.244.9.0/24");
        Assert.Single(Warnings(), w => w.Contains(subject, StringComparison.Ordinal));
    }

    [Fact]
    public async Task PeerClaimingOurSubnet_NeverAPeer()
    {
        await Publish("n2", 2);
        await using SuiteNode node = await StartAsync();
        Assert.Single((await node.NextAsync()).Peers);

        await Harness.PublishPeerAsync("thief", "10.244.1.0/24", LeaseStoreHarness.Vxlan("192.0.2.66", "02:00:00:00:00:66"));
        // A marker after the claim: whatever the claim produced came before it.
        await Publish("n3", 3);
        List<PeerEvent> events = [await node.NextAsync()];
        while (events[^1].Lease?.Key != "10.244.3.0-24")
        {
            events.Add(await node.NextAsync());
        }

        Assert.DoesNotContain(events, e => e.Lease?.Key == "10.244.1.0-24");
        Assert.DoesNotContain(events, e => e.Lease?.Attrs.PublicIP.Equals(IPAddress.Parse("192.0.2.66")) == true);
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24"], node.Manager.Peers.ToArray().Select(p => p.Key).Order());
    }

    [Fact]
    public async Task WatchInterruptedAndResumed_NoMissedNoDuplicatedEvent_StateEqualsTheStore()
    {
        await Publish("n2", 2);
        await using SuiteNode node = await StartAsync();
        PeerEvent start = await node.NextAsync();
        Assert.Single(start.Peers);

        await Harness.InterruptWatchAsync();
        await Publish("n3", 3);
        await Harness.RemovePeerAsync("n2", "10.244.2.0/24");
        await Publish("n3", 3, ip: "192.0.2.33");

        // Either the three changes one by one, or (a store that could not replay) one snapshot of the result,
        // or (a store that keeps only the present) the changes merged per record: never an event twice, never a lost one.
        List<PeerEvent> events = [await node.NextAsync()];
        while (!(Fold([start, .. events]) is [Lease only] && only.Attrs.PublicIP.Equals(IPAddress.Parse("192.0.2.33"))))
        {
            events.Add(await node.NextAsync());
        }
        Assert.Equal(events.Count, events.Select(e => (e.Kind, e.Lease?.Key, e.Lease?.Attrs)).Distinct().Count());
        if (Harness.KeepsHistory && events.All(e => e.Kind != PeerEventKind.Snapshot))
        {
            Assert.Equal([(PeerEventKind.Added, "10.244.3.0-24"), (PeerEventKind.Removed, "10.244.2.0-24"), (PeerEventKind.Changed, "10.244.3.0-24")],
                events.Select(e => (e.Kind, e.Lease!.Key)));
        }
        await using ILeaseStore other = Harness.CreateOtherReader();
        LeaseListing listing = await other.ListAsync(CancellationToken.None);
        Assert.Equal(listing.Records.Select(r => r.Key).Where(k => k != LeaseStoreHarness.OwnSubnets.ToKey()).Order(),
            node.Manager.Peers.ToArray().Select(p => p.Key).Order());
        Assert.Equal(IPAddress.Parse("192.0.2.33"), Assert.Single(node.Manager.Peers.ToArray()).Attrs.PublicIP);
        // A marker: nothing replayed from before the interruption arrives after the state settled.
        await Publish("n4", 4);
        PeerEvent marker = await node.NextAsync();
        Assert.True((PeerEventKind.Added, "10.244.4.0-24") == (marker.Kind, marker.Lease?.Key), "events: " + node.Received);
    }

    [Fact]
    public async Task StoreWatch_FromAnEarlierRevision_ReplaysEveryChangeInOrder_OrOneResyncWhereNoHistoryIsKept()
    {
        await using ILeaseStore reader = Harness.CreateOtherReader();
        long start = (await reader.ListAsync(CancellationToken.None)).Revision;
        await Publish("n2", 2);
        await Publish("n2", 2, mac: "02:00:00:00:00:22");
        await Publish("n3", 3);
        await Harness.RemovePeerAsync("n2", "10.244.2.0/24");

        await using StoreWatch watch = new(reader, start);
        List<LeaseChange> changes = [await watch.NextAsync()];

        if (Harness.KeepsHistory)
        {
            for (int i = 1; i < 4; i++)
            {
                changes.Add(await watch.NextAsync());
            }
            Assert.Equal([(LeaseChangeKind.Put, "10.244.2.0-24"), (LeaseChangeKind.Put, "10.244.2.0-24"), (LeaseChangeKind.Put, "10.244.3.0-24"), (LeaseChangeKind.Delete, "10.244.2.0-24")],
                changes.Select(c => (c.Kind, c.Key)));
            Assert.Equal(["02:00:00:00:00:02", "02:00:00:00:00:22", "02:00:00:00:00:03"], changes.Take(3).Select(c => LeaseAttrs.Parse(c.Record!.Value).VxlanData!.VtepMacText));
            Assert.True(changes[0].Revision > start && changes.Zip(changes.Skip(1)).All(p => p.Second.Revision > p.First.Revision),
                "revisions " + string.Join(", ", changes.Select(c => c.Revision)) + " after " + start);
        }
        else
        {
            LeaseChange resync = Assert.Single(changes);
            Assert.Equal(LeaseChangeKind.Resync, resync.Kind);
            Assert.Equal(["10.244.3.0-24"], resync.Listing!.Records.Select(r => r.Key));
        }
        // Then live changes, after whatever was replayed.
        await Publish("n4", 4);
        LeaseChange live = await watch.NextAsync();
        Assert.Equal((LeaseChangeKind.Put, "10.244.4.0-24"), (live.Kind, live.Key));
        Assert.True(live.Revision > changes[^1].Revision);
    }

    [Fact]
    public async Task StoreWatch_FromACompactedRevision_OneResyncWithTheCurrentState_ThenLiveChanges()
    {
        await using ILeaseStore reader = Harness.CreateOtherReader();
        long start = (await reader.ListAsync(CancellationToken.None)).Revision;
        await Publish("n2", 2);
        await Publish("n3", 3);
        await Harness.RemovePeerAsync("n2", "10.244.2.0/24");
        // A store without history is always "compacted": whatever it could replay is gone already.
        long compacted = Harness.KeepsHistory ? await Harness.CompactHistoryAsync() : start + 1;

        // A watcher that last saw `start` cannot be replayed the three changes since.
        await using StoreWatch watch = new(reader, start);
        LeaseChange resync = await watch.NextAsync();

        Assert.Equal(LeaseChangeKind.Resync, resync.Kind);
        LeaseRecord n3 = Assert.Single(resync.Listing!.Records);
        Assert.Equal(("10.244.3.0-24", Peer(3)), (n3.Key, LeaseAttrs.Parse(n3.Value)));
        Assert.True(resync.Revision >= compacted, $"resync at {resync.Revision}, compacted to {compacted}");
        await Publish("n4", 4);
        LeaseChange after = await watch.NextAsync();
        Assert.Equal((LeaseChangeKind.Put, "10.244.4.0-24"), (after.Kind, after.Key));
        Assert.Equal(Peer(4), LeaseAttrs.Parse(after.Record!.Value));
    }

    [Fact]
    public async Task AgentRestarted_PeerRemovedWhileDown_NotInTheNextSnapshot()
    {
        await Publish("n2", 2);
        await Publish("n3", 3);
        await using (SuiteNode before = await StartAsync())
        {
            Assert.Equal(2, (await before.NextAsync()).Peers.Count);
        }

        await Harness.RemovePeerAsync("n2", "10.244.2.0/24");
        await using SuiteNode node = await StartAsync();
        PeerEvent snapshot = await node.NextAsync();

        // The agent replaces its peers with the snapshot, so the reconcile at start removes n2's routes.
        Assert.Equal(PeerEventKind.Snapshot, snapshot.Kind);
        Assert.Equal(["10.244.3.0-24"], snapshot.Peers.Select(p => p.Key));
    }

    [Fact]
    public async Task AgentRestarted_SameSubnetAgain_OneRecord()
    {
        Lease first;
        await using (SuiteNode before = await StartAsync())
        {
            first = before.Manager.Current!;
        }

        await using SuiteNode node = await StartAsync();

        Assert.Equal(first.Key, node.Manager.Current!.Key);
        await using ILeaseStore other = Harness.CreateOtherReader();
        Assert.Equal([first.Key], (await other.ListAsync(CancellationToken.None)).Records.Select(r => r.Key));
    }

    [Fact]
    public async Task OwnLease_PublishedInFlannelsFormat_ReadableByAnotherInstance()
    {
        await using SuiteNode node = await StartAsync();

        await using ILeaseStore other = Harness.CreateOtherReader();
        LeaseListing listing = await other.ListAsync(CancellationToken.None);
        LeaseRecord record = Assert.Single(listing.Records, r => r.Key == LeaseStoreHarness.OwnSubnets.ToKey());

        Assert.True(Lease.TryFromRecord(record, out Lease? lease, out string? error), error);
        Assert.Equal(OwnAttrs, lease.Attrs);
        Assert.Equal(Harness.FlannelsPublication(OwnAttrs), await Harness.ReadOwnPublicationAsync());
    }

    /// <summary>The peers as the events themselves say (the manager's own set may already be ahead of what the test has read).</summary>
    private static Lease[] Fold(IEnumerable<PeerEvent> events)
    {
        Dictionary<string, Lease> peers = [];
        foreach (PeerEvent e in events)
        {
            switch (e.Kind)
            {
                case PeerEventKind.Snapshot:
                    peers = e.Peers.ToDictionary(p => p.Key);
                    break;
                case PeerEventKind.Removed:
                    peers.Remove(e.Lease!.Key);
                    break;
                default:
                    peers[e.Lease!.Key] = e.Lease;
                    break;
            }
        }
        return [.. peers.Values.OrderBy(p => p.Key, StringComparer.Ordinal)];
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

    private async Task<SuiteNode> StartAsync()
    {
        await Harness.PrepareOwnNodeAsync();
        ILeaseStore store = Harness.CreateOwnStore(Warn);
        LeaseManager manager = new(store, LeaseStoreHarness.Config, Harness.ManagerOptions(store), new WarningLogger(Warn));
        Lease own = await manager.AcquireAsync(OwnAttrs, CancellationToken.None).WaitAsync(SuiteNode.Deadline);
        Assert.Equal(LeaseStoreHarness.OwnSubnets.ToKey(), own.Key);
        return new SuiteNode(store, manager);
    }
}
