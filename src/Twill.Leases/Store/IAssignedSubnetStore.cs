using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;

namespace Twill.Leases.Store;

/// <summary>
/// A store in which the cluster, not the node, chooses each node's subnet: Kubernetes, where
/// kube-controller-manager writes <c>spec.podCIDRs</c>. Its records are the nodes in Flannel's lease
/// form, like any store's, but they have no TTL (<see cref="LeaseRecord.Expiration"/> is
/// <see cref="DateTimeOffset.MaxValue"/>), and <see cref="LeaseManager.AcquireAsync"/> asks for the
/// assigned subnet instead of choosing a free one, then publishes this node's attributes with
/// <see cref="ILeaseStore.UpdateAsync"/>.
/// </summary>
public interface IAssignedSubnetStore
{
    /// <summary>
    /// This node's assigned subnet(s), one per enabled family, checked against the network. Waits,
    /// retrying and saying why, while none is assigned yet; throws <see cref="InvalidOperationException"/>
    /// naming the node when the assigned one lies outside the network.
    /// </summary>
    Task<LeaseSubnets> WaitForAssignedSubnetsAsync(NetworkConfig config, CancellationToken cancellationToken);

    /// <summary>What the cluster already says about this node, read before its lease is built (a wiped state directory loses nothing the node had published).</summary>
    Task<AssignedNodeState> ReadOwnStateAsync(CancellationToken cancellationToken);

    /// <summary>Tells the cluster this node's data path is up (Kubernetes: NetworkUnavailable=False); the agent calls it once ready.</summary>
    Task MarkNetworkAvailableAsync(CancellationToken cancellationToken);
}

/// <summary>
/// This node as the cluster knows it: the VtepMAC(s) it published before (reused, so peers' FDB entries
/// stay valid), and the public address(es) an administrator set for it (Flannel's node-public-ip, which
/// wins over --public-ip).
/// </summary>
public sealed record AssignedNodeState(string NodeName, PhysicalAddress? VtepMac, PhysicalAddress? VtepMacV6, IPAddress? PublicIP, IPAddress? PublicIPv6);
