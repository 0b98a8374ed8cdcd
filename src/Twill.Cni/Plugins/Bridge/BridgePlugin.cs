using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Cni.Kernel;
using Twill.Cni.Protocol;
using Twill.Core;
using Twill.Firewall.Masquerade;
using Twill.Netlink;

namespace Twill.Cni.Plugins.Bridge;

/// <summary>
/// bridge: a Linux bridge on the node, a veth pair per pod (the pod end created directly in the
/// pod's namespace), addresses from the IPAM plugin, the gateway address on the bridge, routes in
/// the pod and masquerading, with the reference 1.1.1 plugin's kernel effects and result shape.
/// </summary>
public sealed class BridgePlugin : ICniPlugin
{
    public string Type => "bridge";

    public CniResult Add(CniInvocation call)
    {
        BridgeConfig conf = BridgeConfig.Load(call);
        using NetNs hostNs = NetNs.OpenCurrent();
        using RtnlConnection host = RtnlConnection.Open();
        Link br = BridgeHostLinks.EnsureBridge(host, conf);
        using NetNs pod = PodNetns.Open(call.Netns);
        using RtnlConnection podRtnl = call.Context.Rtnl(pod);
        (Link hostVeth, Link cont) = BridgeHostLinks.SetupVeth(host, podRtnl, hostNs, br, call.IfName, conf);
        using UndoList undo = new();
        if (conf.Raw.MacSpoofChk)
        {
            BridgeSpoofCheck.Setup(call, hostVeth.Name, cont.Mac);
            // the reference undoes its spoof-check when IPAM or a later step fails
            undo.Push(() => BridgeSpoofCheck.TryTeardown(call));
        }

        CniResult result = new()
        {
            Interfaces =
            [
                new CniInterface(br.Name, Mac(br.Mac)),
                new CniInterface(hostVeth.Name, Mac(hostVeth.Mac)),
                new CniInterface(call.IfName, Mac(cont.Mac), call.Netns),
            ],
        };
        if (conf.IpamType.Length > 0)
        {
            CniResult ipam = Delegation.Add(conf.IpamType, call.StdinData, call);
            undo.Push(() => Delegation.Del(conf.IpamType, call.StdinData, call));
            result.Routes.AddRange(ipam.Routes);
            result.Dns = ipam.Dns;
            if (ipam.Ips.Count == 0)
            {
                throw new CniException(CniErrorCode.Internal, $"IPAM plugin returned missing IP config (ipam type \"{conf.IpamType}\")");
            }
            BridgeGateways plan = BridgeGateways.Compute(ipam.Ips, result.Routes, conf);
            result.Ips.AddRange(plan.Ips);
            result.Routes.AddRange(plan.DefaultRoutes);
            ConfigurePod(call.Context, pod, podRtnl, call.IfName, cont.Index, result, conf.Raw.EnableDad);
            if (conf.IsGateway)
            {
                foreach (InterfaceAddress gw in plan.Gateways)
                {
                    BridgeHostLinks.EnsureAddress(host, br, gw, conf.Raw.ForceAddress);
                }
                if (plan.Gateways.Any(g => Cidrs.IsV4(g.Address)))
                {
                    BridgeSysctl.Ensure("net/ipv4/ip_forward", "1");
                }
                if (plan.Gateways.Any(g => !Cidrs.IsV4(g.Address)))
                {
                    BridgeSysctl.Ensure("net/ipv6/conf/all/forwarding", "1");
                }
            }
            if (conf.Raw.IpMasq)
            {
                BridgeMasquerade.Setup([.. result.Ips.Select(i => i.Address)], call.Name, call.ContainerId, call.Context.Firewall());
            }
        }
        undo.Commit();
        // The bridge's MAC may change when the first port joins or its address is set: read it last.
        Link brNow = host.GetLink(br.Index);
        result.Interfaces[0] = result.Interfaces[0] with { Mac = Mac(brNow.Mac) };
        if (conf.Dns is not null)
        {
            result.Dns = conf.Dns;
        }
        return result;
    }

    public void Del(CniInvocation call)
    {
        BridgeConfig conf = BridgeConfig.Load(call);
        if (conf.IpamType.Length > 0)
        {
            Delegation.Del(conf.IpamType, call.StdinData, call);
        }
        using (NetNs? pod = PodNetns.TryOpen(call.Netns))
        {
            if (pod is not null)
            {
                using RtnlConnection podRtnl = call.Context.Rtnl(pod);
                if (podRtnl.TryGetLink(call.IfName) is { } link)
                {
                    try
                    {
                        podRtnl.DeleteLink(link.Index);
                    }
                    catch (NetlinkException e) when (e.IsNotFound)
                    {
                        // deleted concurrently: the goal is reached
                    }
                }
            }
        }
        // The chain is named from (network, container id), so it is removed even when the pod's
        // namespace is already gone (the reference leaks it in that case).
        if (conf.IpamType.Length > 0 && conf.Raw.IpMasq)
        {
            BridgeMasquerade.Teardown(call.Name, call.ContainerId, call.Context.Firewall());
        }
        // Like the chain above, found by (container id, ifname): removed even when the netns is gone.
        if (conf.Raw.MacSpoofChk)
        {
            BridgeSpoofCheck.Teardown(call);
        }
    }

    /// <summary>
    /// GC (1.1): the bridge holds nothing per attachment that outlives the pod's namespace but the
    /// IPAM's addresses, so GC is the IPAM's GC (the stdin, valid attachments included, passed on).
    /// </summary>
    public void Gc(CniInvocation call)
    {
        BridgeConfig conf = BridgeConfig.Load(call);
        if (conf.IpamType.Length > 0)
        {
            Delegation.Gc(conf.IpamType, call.StdinData, call);
        }
    }

    public void Check(CniInvocation call)
    {
        BridgeConfig conf = BridgeConfig.Load(call);
        CniResult prev = call.PrevResult ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "Required prevResult missing");
        if (conf.IpamType.Length > 0)
        {
            Delegation.Check(conf.IpamType, call.StdinData, call);
        }
        using RtnlConnection host = RtnlConnection.Open();
        Link br = host.TryGetLink(conf.BridgeName)
            ?? throw new CniException(CniErrorCode.Internal, $"failed to find bridge \"{conf.BridgeName}\"");
        if (br.Kind != "bridge")
        {
            throw new CniException(CniErrorCode.Internal, $"\"{conf.BridgeName}\" already exists but is not a bridge");
        }
        int contIdx = prev.Interfaces.FindIndex(i => i.Name == call.IfName && !string.IsNullOrEmpty(i.Sandbox));
        if (contIdx < 0)
        {
            throw new CniException(CniErrorCode.Internal, $"prevResult has no interface \"{call.IfName}\" with a sandbox");
        }
        using NetNs pod = PodNetns.Open(call.Netns);
        using RtnlConnection podRtnl = call.Context.Rtnl(pod);
        Link cont = podRtnl.TryGetLink(call.IfName)
            ?? throw new CniException(CniErrorCode.Internal, $"failed to find container interface \"{call.IfName}\" in {call.Netns}");
        string? wantMac = prev.Interfaces[contIdx].Mac;
        if (!string.IsNullOrEmpty(wantMac) && !string.Equals(wantMac, Mac(cont.Mac), StringComparison.OrdinalIgnoreCase))
        {
            throw new CniException(CniErrorCode.Internal, $"interface {call.IfName} Mac {Mac(cont.Mac)} doesn't match: {wantMac}");
        }
        foreach (CniInterface hostIf in prev.Interfaces.Where(i => string.IsNullOrEmpty(i.Sandbox) && i.Name != conf.BridgeName))
        {
            Link veth = host.TryGetLink(hostIf.Name)
                ?? throw new CniException(CniErrorCode.Internal, $"failed to find host interface \"{hostIf.Name}\"");
            if (veth.MasterIndex != br.Index)
            {
                throw new CniException(CniErrorCode.Internal, $"interface {hostIf.Name} is not attached to bridge {conf.BridgeName}");
            }
        }
        List<IfAddress> have = [.. podRtnl.DumpAddresses(AddressFamily.Unspecified, cont.Index)];
        foreach (CniIpConfig ip in prev.Ips.Where(i => i.Interface == contIdx))
        {
            if (!have.Any(a => a.Address.Equals(ip.Address.Address) && a.PrefixLength == ip.Address.PrefixLength))
            {
                throw new CniException(CniErrorCode.Internal, $"Failed to match addr {ip.Address} on interface {call.IfName}");
            }
        }
    }

    /// <summary>The reference's ConfigureIface (plus the DAD and arp_notify sysctls bridge sets first).</summary>
    private static void ConfigurePod(PluginContext context, NetNs pod, RtnlConnection podRtnl, string ifName, int index, CniResult result, bool enableDad)
    {
        bool anyV6 = result.Ips.Any(i => !Cidrs.IsV4(i.Address.Address));
        context.Run(pod, () =>
        {
            // The reference sets DAD whatever the address families: a pod given IPv6 later (SLAAC,
            // another plugin) still starts without DAD unless enabledad asked for it.
            if (enableDad)
            {
                BridgeSysctl.Try(null, $"net/ipv6/conf/{ifName}/enhanced_dad", "1");
                BridgeSysctl.Try(null, $"net/ipv6/conf/{ifName}/accept_dad", "1");
            }
            else
            {
                BridgeSysctl.Try(null, $"net/ipv6/conf/{ifName}/accept_dad", "0");
            }
            if (anyV6)
            {
                foreach (string dev in new[] { "lo", ifName })
                {
                    BridgeSysctl.Try(null, $"net/ipv6/conf/{dev}/disable_ipv6", "0");
                }
            }
            BridgeSysctl.Try(null, $"net/ipv4/conf/{ifName}/arp_notify", "1");
        });
        podRtnl.SetLinkUp(index);
        IPAddress? v4gw = null, v6gw = null;
        foreach (CniIpConfig ip in result.Ips)
        {
            try
            {
                podRtnl.AddAddress(index, ip.Address.Address, ip.Address.PrefixLength, noDad: !enableDad && !Cidrs.IsV4(ip.Address.Address),
                    broadcast: Cidrs.BroadcastOf(ip.Address.Address, ip.Address.PrefixLength));
            }
            catch (NetlinkException e)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to add IP addr {ip.Address} to \"{ifName}\": {e.Message}");
            }
            if (ip.Gateway is not null)
            {
                if (Cidrs.IsV4(ip.Gateway))
                {
                    v4gw ??= ip.Gateway;
                }
                else
                {
                    v6gw ??= ip.Gateway;
                }
            }
        }
        foreach (CniRoute r in result.Routes)
        {
            bool v4 = Cidrs.IsV4(r.Dst.Address);
            IPAddress? gw = r.Gw ?? (v4 ? v4gw : v6gw);
            try
            {
                podRtnl.AddRoute(new Route(new IPNetwork(r.Dst.Address, r.Dst.PrefixLength))
                {
                    Gateway = gw,
                    OutputIndex = index,
                    Scope = RouteScope.Universe,
                });
            }
            catch (NetlinkException e)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to add route '{r.Dst} via {gw?.ToString() ?? "<nil>"} dev {ifName}': {e.Message}");
            }
        }
    }

    public static string? Mac(PhysicalAddress? mac) => mac?.ToColonString();
}
