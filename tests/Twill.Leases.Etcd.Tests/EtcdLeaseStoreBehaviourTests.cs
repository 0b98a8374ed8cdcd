using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Leases.Etcd.Tests;

/// <summary>
/// The shared lease-store suite over a real etcd (one member for the class, a fresh prefix per test):
/// "another node" is another client writing under the same prefix; the watch is cut by killing and
/// restarting the member.
/// </summary>
public sealed class EtcdLeaseStoreBehaviourTests(EtcdFixture etcd) : LeaseStoreBehaviour, IClassFixture<EtcdFixture>
{
    protected override LeaseStoreHarness CreateHarness() => new EtcdHarness(etcd.Server);

    private sealed class EtcdHarness(EtcdServer server) : LeaseStoreHarness
    {
        private static readonly TimeSpan Day = TimeSpan.FromHours(24);
        private readonly string _prefix = Etcd.FreshPrefix();
        private EtcdLeaseStore? _other;

        private EtcdLeaseStore Other => _other ??= Etcd.Store(server.ClientUrls, _prefix);

        public override bool RecordsExpire => true;

        public override bool SubnetsAssignedByCluster => false;

        public override bool KeepsHistory => true;

        public override ILeaseStore CreateOwnStore(Action<string> warn) => Etcd.Store(server.ClientUrls, _prefix);

        public override LeaseManagerOptions ManagerOptions(ILeaseStore store) => new() { PreviousSubnets = OwnSubnets, WatchRetryInterval = TimeSpan.FromMilliseconds(100) };

        public override async Task PublishPeerAsync(string node, string subnet, LeaseAttrs attrs) =>
            await Other.UpdateAsync(Key(subnet), attrs.ToJson(), Day, null, CancellationToken.None);

        public override async Task PublishExpiringPeerAsync(string node, string subnet, LeaseAttrs attrs, TimeSpan ttl) =>
            await Other.UpdateAsync(Key(subnet), attrs.ToJson(), ttl, null, CancellationToken.None);

        // Flannel's reader would choke on it too: a lease whose backend data is cut short.
        public override Task PublishCorruptPeerAsync(string node, string subnet)
        {
            server.Etcdctl("put", $"{_prefix}/subnets/{Key(subnet)}", """{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":""");
            return Task.CompletedTask;
        }

        public override async Task TakeOverOwnRecordAsync(LeaseAttrs attrs) =>
            await Other.UpdateAsync(OwnSubnets.ToKey(), attrs.ToJson(), Day, null, CancellationToken.None);

        public override async Task RemovePeerAsync(string node, string subnet) =>
            Assert.True(await Other.DeleteAsync(Key(subnet), CancellationToken.None));

        public override string WarningSubject(string node, string subnet) => Key(subnet);

        // A crash of the only member (SIGKILL), then the same member back on its data: the watch must resume.
        public override Task InterruptWatchAsync() => Task.Run(() =>
        {
            server.StopMember(0);
            server.RestartMember(0);
        });

        public override Task<long> CompactHistoryAsync() => Task.FromResult(server.Compact());

        // What etcdctl (and so Flannel) reads at Flannel's key.
        public override Task<string> ReadOwnPublicationAsync() =>
            Task.FromResult(server.Etcdctl("get", $"{_prefix}/subnets/{OwnSubnets.ToKey()}", "--print-value-only").TrimEnd('\n'));

        public override string FlannelsPublication(LeaseAttrs attrs) => FlannelsLeaseJson(attrs);

        public override ILeaseStore CreateOtherReader() => Etcd.Store(server.ClientUrls, _prefix);

        public override async ValueTask DisposeAsync()
        {
            if (_other is not null)
            {
                await _other.DisposeAsync();
            }
            server.Etcdctl("del", "--prefix", _prefix + "/");
        }
    }
}
