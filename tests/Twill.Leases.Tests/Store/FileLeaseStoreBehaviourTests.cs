using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Leases.Tests;

/// <summary>The shared lease-store suite over the file store: "another node" is another store instance on the same directory.</summary>
public sealed class FileLeaseStoreBehaviourTests : LeaseStoreBehaviour
{
    protected override LeaseStoreHarness CreateHarness() => new FileHarness();

    private sealed class FileHarness : LeaseStoreHarness
    {
        private static readonly TimeSpan Day = TimeSpan.FromHours(24);
        private readonly string _dir = Directory.CreateTempSubdirectory("twill-suite-").FullName;
        private readonly FileLeaseStore _other;

        public FileHarness() => _other = new FileLeaseStore(_dir);

        public override bool RecordsExpire => true;

        public override bool SubnetsAssignedByCluster => false;

        // The directory holds the present only: a watch from the past starts with a Resync.
        public override bool KeepsHistory => false;

        public override ILeaseStore CreateOwnStore(Action<string> warn) => new FileLeaseStore(_dir);

        public override LeaseManagerOptions ManagerOptions(ILeaseStore store) => new() { PreviousSubnets = OwnSubnets, WatchRetryInterval = TimeSpan.FromMilliseconds(100) };

        public override async Task PublishPeerAsync(string node, string subnet, LeaseAttrs attrs) =>
            await _other.UpdateAsync(Key(subnet), attrs.ToJson(), Day, null, CancellationToken.None);

        public override async Task PublishExpiringPeerAsync(string node, string subnet, LeaseAttrs attrs, TimeSpan ttl) =>
            await _other.UpdateAsync(Key(subnet), attrs.ToJson(), ttl, null, CancellationToken.None);

        public override async Task PublishCorruptPeerAsync(string node, string subnet) =>
            await _other.UpdateAsync(Key(subnet), """{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"not-a-mac"}""", Day, null, CancellationToken.None);

        public override async Task TakeOverOwnRecordAsync(LeaseAttrs attrs) =>
            await _other.UpdateAsync(OwnSubnets.ToKey(), attrs.ToJson(), Day, null, CancellationToken.None);

        public override async Task RemovePeerAsync(string node, string subnet) =>
            Assert.True(await _other.DeleteAsync(Key(subnet), CancellationToken.None));

        public override string WarningSubject(string node, string subnet) => Key(subnet);

        // No connection to lose: the watch is inotify on a local directory. What the suite checks here is
        // that changes made right after the "interruption" arrive exactly once, as for the other stores.
        public override Task InterruptWatchAsync() => Task.CompletedTask;

        public override async Task<string> ReadOwnPublicationAsync() =>
            (await _other.ListAsync(CancellationToken.None)).Records.Single(r => r.Key == OwnSubnets.ToKey()).Value;

        public override string FlannelsPublication(LeaseAttrs attrs) => FlannelsLeaseJson(attrs);

        public override ILeaseStore CreateOtherReader() => new FileLeaseStore(_dir);

        public override async ValueTask DisposeAsync()
        {
            await _other.DisposeAsync();
            Directory.Delete(_dir, recursive: true);
        }
    }
}
