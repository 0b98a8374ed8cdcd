using System.Net;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Plugins.Bridge;

/// <summary>What the bridge makes of IPAM's addresses: the result's IPs, the default routes to add, and the bridge's gateway addresses.</summary>
/// <param name="Ips">IPAM's addresses on the container interface (index 2), each with its gateway.</param>
/// <param name="DefaultRoutes">Default routes to append (isDefaultGateway), one per family at most.</param>
/// <param name="Gateways">Addresses the bridge takes when it is the gateway (isGateway).</param>
public sealed record BridgeGateways(IReadOnlyList<CniIpConfig> Ips, IReadOnlyList<CniRoute> DefaultRoutes, IReadOnlyList<InterfaceAddress> Gateways)
{
    /// <summary>
    /// The reference's calcGateways, without side effects: every address goes to the container
    /// interface (index 2), a missing gateway is the subnet's first address when the bridge is the
    /// gateway, and a default route per family is added when isDefaultGateway asks for it and
    /// <paramref name="routes"/> (IPAM's) has none with a gateway.
    /// </summary>
    public static BridgeGateways Compute(IReadOnlyList<CniIpConfig> ips, IReadOnlyList<CniRoute> routes, BridgeConfig conf)
    {
        List<CniIpConfig> outIps = [];
        List<CniRoute> defaults = [];
        List<InterfaceAddress> gateways = [];
        bool v4Default = false, v6Default = false;
        foreach (CniIpConfig ip0 in ips)
        {
            CniIpConfig ip = ip0 with { Interface = 2 };
            bool v4 = Cidrs.IsV4(ip.Address.Address);
            if (ip.Gateway is null && conf.IsGateway)
            {
                ip = ip with { Gateway = Cidrs.Add(ip.Address.Network.BaseAddress, 1) };
            }
            if (conf.Raw.IsDefaultGateway && !(v4 ? v4Default : v6Default))
            {
                InterfaceAddress any = new(v4 ? IPAddress.Any : IPAddress.IPv6Any, 0);
                if (!routes.Concat(defaults).Any(r => r.Gw is not null && r.Dst == any))
                {
                    defaults.Add(new CniRoute(any, ip.Gateway));
                }
                if (v4)
                {
                    v4Default = true;
                }
                else
                {
                    v6Default = true;
                }
            }
            if (conf.IsGateway && ip.Gateway is not null)
            {
                gateways.Add(new InterfaceAddress(ip.Gateway, ip.Address.PrefixLength));
            }
            outIps.Add(ip);
        }
        return new BridgeGateways(outIps, defaults, gateways);
    }
}
