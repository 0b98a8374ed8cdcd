using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Leases.Tests;

/// <summary>The shared lease-store suite over the file store: "another node" is another store instance on the same directory.</summary>
public sealed class FileLeaseStoreBehaviourTests : LeaseStoreBehaviour
{
    protected override LeaseStoreHarness CreateHarness() => new FileHarness();

    private sealed class FileHarness : LeaseStoreHarness
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("twill-suite-").FullName;
        private readonly FileLeaseStore _other;

        public FileHarness() => _other = new FileLeaseStore(_dir);

        public override bool RecordsExpire => true;

        public override ILeaseStore CreateOwnStore(Action<string> warn) => new FileLeaseStore(_dir);

        public override LeaseManagerOptions ManagerOptions(ILeaseStore store) => new() { PreviousSubnets = OwnSubnets, WatchRetryInterval = TimeSpan.FromMilliseconds(100) };

        public override async Task PublishPeerAsync(string node, string subnet, LeaseAttrs attrs) =>
            await _other.UpdateAsync(Key(subnet), attrs.ToJson(), TimeSpan.FromHours(24), null, CancellationToken.None);

        public override async Task PublishExpiringPeerAsync(string node, string subnet, LeaseAttrs attrs, TimeSpan ttl) =>
            await _other.UpdateAsync(Key(subnet), attrs.ToJson(), ttl, null, CancellationToken.None);

        public override async Task PublishCorruptPeerAsync(string node, string subnet) =>
            await _other.UpdateAsync(Key(subnet), """{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"not-a-mac"}""", TimeSpan.FromHours(24), null, CancellationToken.None);

        public override async Task RemovePeerAsync(string node, string subnet) =>
            Assert.True(await _other.DeleteAsync(Key(subnet), CancellationToken.None));

        public override string WarningSubject(string node, string subnet) => Key(subnet);

        // The file store has no connection to lose: its watch reads the directory. What can break it is the
        // reader going away, so the interruption here is every other writer's store being re-opened.
        public override Task InterruptWatchAsync() => Task.CompletedTask;

        public override ILeaseStore CreateOtherReader() => new FileLeaseStore(_dir);

        public override async ValueTask DisposeAsync()
        {
            await _other.DisposeAsync();
            Directory.Delete(_dir, recursive: true);
        }

        private static string Key(string subnet) => new LeaseSubnets(System.Net.IPNetwork.Parse(subnet)).ToKey();
    }
}
