using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Testing;

/// <summary>
/// One store as the lease-store suite (<see cref="LeaseStoreBehaviour"/>) drives it: "this node" (a store
/// and the manager options it needs) and "another node" publishing, changing and removing its lease the
/// way that store's other writers do (file/etcd: another store instance writing a record; Kubernetes: a
/// Node object through the API). Where a store differs by design, the harness declares it
/// (<see cref="RecordsExpire"/>, <see cref="SubnetsAssignedByCluster"/>, <see cref="KeepsHistory"/>) and
/// the suite asserts that store's side of the contract instead.
/// </summary>
public abstract class LeaseStoreHarness : IAsyncDisposable
{
    /// <summary>The network every suite test uses: vxlan, VNI 4096, /24 subnets.</summary>
    public static NetworkConfig Config { get; } = NetworkConfig.Parse("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096}}""", out _);

    /// <summary>This node's subnet in every test (chosen through subnet.env, or assigned by the cluster).</summary>
    public static LeaseSubnets OwnSubnets { get; } = new(IPNetwork.Parse("10.244.1.0/24"));

    /// <summary>
    /// True when records expire unless renewed (file, etcd: Flannel's 24 h TTL); false when records live as
    /// long as their object (Kubernetes: the Node is the lease and goes away only when deleted).
    /// </summary>
    public abstract bool RecordsExpire { get; }

    /// <summary>
    /// True when the cluster assigns each node its subnet (Kubernetes: spec.podCIDR), so no other writer
    /// can take this node's record; false when nodes choose free subnets and race for them (file, etcd),
    /// so a record can be taken over and a renewal must notice.
    /// </summary>
    public abstract bool SubnetsAssignedByCluster { get; }

    /// <summary>
    /// True when a watch can be resumed from an earlier revision and replays every change since (etcd,
    /// Kubernetes: the etcd history until compaction); false when the store keeps only the present (the
    /// file store's directory), so a watch from the past begins with one Resync of the current state.
    /// </summary>
    public abstract bool KeepsHistory { get; }

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

    /// <summary>
    /// Another node overwrites this node's record with its own lease (only called when nodes choose
    /// subnets: with <see cref="SubnetsAssignedByCluster"/> no writer but this node publishes on its subnet).
    /// </summary>
    public virtual Task TakeOverOwnRecordAsync(LeaseAttrs attrs) =>
        throw new NotSupportedException("in this store no other node can write this node's record");

    /// <summary>Another node's lease goes away (record deleted, Node deleted).</summary>
    public abstract Task RemovePeerAsync(string node, string subnet);

    /// <summary>What a skipped record's warning names: the record key (file, etcd) or the node name (Kubernetes).</summary>
    public abstract string WarningSubject(string node, string subnet);

    /// <summary>
    /// Cuts this node's live watch the way the store's connection breaks: etcd restarted, the API server
    /// restarted. Changes are made after it returns and must arrive exactly once.
    /// </summary>
    public abstract Task InterruptWatchAsync();

    /// <summary>
    /// Drops the store's history up to now (etcd compaction; the API server's etcd too) and returns the
    /// revision compacted to. Only called when <see cref="KeepsHistory"/>.
    /// </summary>
    public virtual Task<long> CompactHistoryAsync() => throw new NotSupportedException("this store keeps no history to compact");

    /// <summary>
    /// This node's publication as the store holds it natively, in a stable text form: the record's value
    /// (file, etcd), or Flannel's annotations on the Node as sorted <c>name=value</c> lines (Kubernetes).
    /// </summary>
    public abstract Task<string> ReadOwnPublicationAsync();

    /// <summary>What <see cref="ReadOwnPublicationAsync"/> must return for <paramref name="attrs"/>: exactly what Flannel writes in that store.</summary>
    public abstract string FlannelsPublication(LeaseAttrs attrs);

    /// <summary>A second, independent reader of the store (another node's store instance).</summary>
    public abstract ILeaseStore CreateOtherReader();

    public abstract ValueTask DisposeAsync();

    public static LeaseAttrs Vxlan(string publicIP, string mac) =>
        LeaseAttrs.ForVxlan(IPAddress.Parse(publicIP), new VxlanLeaseData(4096, PhysicalAddress.Parse(mac.Replace(':', '-'))));

    /// <summary>
    /// A vxlan lease's value as Flannel writes it in etcd (and Twill in its file store), spelled out here
    /// from Flannel's fixture rather than by <see cref="LeaseAttrs.ToJson"/>, so the two are compared.
    /// </summary>
    public static string FlannelsLeaseJson(LeaseAttrs attrs)
    {
        ArgumentNullException.ThrowIfNull(attrs);
        VxlanLeaseData data = attrs.VxlanData ?? throw new ArgumentException("a vxlan lease", nameof(attrs));
        return $$$"""{"PublicIP":"{{{attrs.PublicIP}}}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":{{{data.Vni}}},"VtepMAC":"{{{data.VtepMacText}}}"}}""";
    }

    /// <summary>The record key of a subnet: <c>10.244.2.0/24</c> → <c>10.244.2.0-24</c>.</summary>
    public static string Key(string subnet) => new LeaseSubnets(IPNetwork.Parse(subnet)).ToKey();
}
