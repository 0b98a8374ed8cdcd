using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Backends;
using Twill.Core;
using Twill.Firewall.Masquerade;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// The agent's per-family decisions in one place, as Flannel makes them for dual-stack and IPv6-only
/// networks: which families run (EnableIPv4 / EnableIPv6), what the lease publishes for each
/// (PublicIP + BackendData, PublicIPv6 + BackendV6Data), this node's lease as each family's plan
/// input and the firewall's networks. Pure. (subnet.env's per-family lines are built from the stacks
/// in <c>SubnetEnvPublisher</c>.)
/// </summary>
public static class DualStack
{
    /// <summary>The families the network runs, IPv4 first (the order of stacks, logs and subnet.env).</summary>
    public static IReadOnlyList<AddressFamily> Families(NetworkConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        List<AddressFamily> families = [];
        if (config.EnableIPv4)
        {
            families.Add(AddressFamily.InterNetwork);
        }
        if (config.EnableIPv6)
        {
            families.Add(AddressFamily.InterNetworkV6);
        }
        return families;
    }

    /// <summary>"IPv4" or "IPv6": the stack's name in logs.</summary>
    public static string Name(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

    /// <summary>
    /// What this node publishes: for each enabled family its public address and, for vxlan, that
    /// family's device data (VNI and the VtepMAC of flannel.VNI / flannel-v6.VNI). A disabled family
    /// publishes nothing (PublicIP 0.0.0.0, PublicIPv6 null), exactly as Flannel's lease.
    /// </summary>
    public static LeaseAttrs LeaseAttrsFor(BackendSettings settings, UnderlayChoice underlay, PhysicalAddress? vtepMac, PhysicalAddress? vtepMacV6)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(underlay);
        if (settings.Kind == BackendKind.Bgp)
        {
            return LeaseAttrs.ForHostGw(underlay.PublicIP, underlay.PublicIPv6) with { BackendType = "bgp" };
        }
        if (settings.Kind != BackendKind.Vxlan)
        {
            return LeaseAttrs.ForHostGw(underlay.PublicIP, underlay.PublicIPv6);
        }
        return LeaseAttrs.ForVxlan(
            underlay.PublicIP,
            underlay.PublicIP is null ? null : new VxlanLeaseData(settings.Vni, vtepMac),
            underlay.PublicIPv6,
            underlay.PublicIPv6 is null ? null : new VxlanLeaseData(settings.Vni, vtepMacV6));
    }

    /// <summary>This node's lease as a family's plan input; throws naming the lease when it lacks that family's subnet.</summary>
    public static PeerLease OwnInput(PeerLeases converter, Lease lease, AddressFamily family)
    {
        ArgumentNullException.ThrowIfNull(converter);
        ArgumentNullException.ThrowIfNull(lease);
        return converter.Convert(lease, family)
            ?? throw new InvalidOperationException(
                $"lease {lease.Key} has no {Name(family)} subnet although Enable{Name(family)} is true in net-conf.json");
    }

    /// <summary>The masquerade / forward rules' networks: each enabled family's network and this node's subnet of it.</summary>
    public static NodeFirewallConfig FirewallConfig(NetworkConfig config, Lease lease, bool ipMasq, bool forward)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(lease);
        return new NodeFirewallConfig(
            config.EnableIPv4 ? config.Network : null,
            config.EnableIPv4 ? lease.Subnets.IPv4 : null,
            config.EnableIPv6 ? config.IPv6Network : null,
            config.EnableIPv6 ? lease.Subnets.IPv6 : null,
            IpMasq: ipMasq,
            Forward: forward);
    }
}
