using System.Net;
using System.Net.Sockets;
using Twill.Cni.Protocol;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Cni.Plugins.Bridge;

/// <summary>
/// The node side of a bridge ADD: the bridge itself, the veth pair joined to it, and the gateway
/// address on the bridge. Each step is idempotent so a repeated or parallel ADD converges.
/// </summary>
internal static class BridgeHostLinks
{
    public static Link EnsureBridge(RtnlConnection host, BridgeConfig conf)
    {
        try
        {
            host.AddBridge(conf.BridgeName, conf.Raw.Mtu > 0 ? conf.Raw.Mtu : null);
        }
        catch (NetlinkException e) when (e.IsExists)
        {
            // made by an earlier pod: reuse it
        }
        catch (NetlinkException e)
        {
            throw new CniException(CniErrorCode.Internal, $"could not add \"{conf.BridgeName}\": {e.Message}");
        }
        Link br = host.GetLink(conf.BridgeName);
        if (br.Kind != "bridge")
        {
            throw new CniException(CniErrorCode.Internal, $"\"{conf.BridgeName}\" already exists but is not a bridge");
        }
        if (conf.Raw.PromiscMode && !br.IsPromiscuous)
        {
            host.SetPromiscuous(br.Index, true);
        }
        // The plugin owns this interface's routes: no router advertisements.
        BridgeSysctl.Try(null, $"net/ipv6/conf/{conf.BridgeName}/accept_ra", "0");
        if (!br.IsUp)
        {
            host.SetLinkUp(br.Index);
        }
        return br;
    }

    public static (Link Host, Link Container) SetupVeth(RtnlConnection host, RtnlConnection podRtnl, NetNs hostNs, Link br, string ifName, BridgeConfig conf)
    {
        if (podRtnl.TryGetLink(ifName) is not null)
        {
            throw new CniException(CniErrorCode.Internal, $"container veth name provided ({ifName}) already exists");
        }
        Link? cont = null;
        string hostName = "";
        for (int attempt = 0; cont is null; attempt++)
        {
            hostName = RandomVethName();
            try
            {
                cont = podRtnl.AddVeth(ifName, hostName, hostNs, conf.Raw.Mtu > 0 ? conf.Raw.Mtu : null, conf.Mac);
            }
            catch (NetlinkException e) when (e.IsExists && attempt < 10 && podRtnl.TryGetLink(ifName) is null)
            {
                // the random host-side name is taken on the node: draw another
            }
        }
        podRtnl.SetLinkUp(cont.Index);
        Link hostVeth = host.GetLink(hostName);
        host.SetLinkUp(hostVeth.Index);
        try
        {
            host.SetMaster(hostVeth.Index, br.Index);
        }
        catch (NetlinkException e)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to connect \"{hostName}\" to bridge {br.Name}: {e.Message}");
        }
        try
        {
            host.SetHairpin(hostVeth.Index, conf.Raw.HairpinMode);
        }
        catch (NetlinkException e)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to setup hairpin mode for {hostName}: {e.Message}");
        }
        return (host.GetLink(hostVeth.Index), cont);
    }

    /// <summary>The reference's ensureAddr: one IPv4 address per bridge (forceAddress replaces a different one).</summary>
    public static void EnsureAddress(RtnlConnection host, Link br, InterfaceAddress gw, bool force)
    {
        bool v4 = Cidrs.IsV4(gw.Address);
        foreach (IfAddress a in host.DumpAddresses(v4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6, br.Index))
        {
            if (a.Address.Equals(gw.Address) && a.PrefixLength == gw.PrefixLength)
            {
                return;
            }
            IPNetwork have = new InterfaceAddress(a.Address, a.PrefixLength).Network;
            if (v4 || have.Contains(gw.Address) || gw.Network.Contains(a.Address))
            {
                if (!force)
                {
                    throw new CniException(CniErrorCode.Internal,
                        $"failed to set bridge addr: \"{br.Name}\" already has an IP address different from {gw} (it has {a.Address}/{a.PrefixLength}; set forceAddress to replace it)");
                }
                host.DeleteAddress(br.Index, a.Address, a.PrefixLength);
            }
        }
        try
        {
            host.AddAddress(br.Index, gw.Address, gw.PrefixLength, broadcast: Cidrs.BroadcastOf(gw.Address, gw.PrefixLength));
        }
        catch (NetlinkException e) when (e.IsExists)
        {
            // a parallel ADD set it first
        }
        // Pin the bridge's MAC to its own, else it follows the lowest port MAC as pods come and go.
        if (br.Mac is not null)
        {
            host.SetMac(br.Index, br.Mac);
        }
    }

    /// <summary>
    /// "veth" + 8 hex digits, as the reference names the node side. Not cryptographic on purpose:
    /// loading the crypto library costs a plugin tens of milliseconds, and a clash is retried.
    /// </summary>
    public static string RandomVethName()
    {
        Span<byte> b = stackalloc byte[4];
        Random.Shared.NextBytes(b);
        return "veth" + Convert.ToHexStringLower(b);
    }
}
