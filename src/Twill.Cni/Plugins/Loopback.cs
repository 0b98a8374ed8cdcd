using System.Net.Sockets;
using Twill.Cni.Kernel;
using Twill.Cni.Protocol;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Cni.Plugins;

/// <summary>
/// loopback: brings <c>lo</c> up in the pod (ADD) and down (DEL). The interface name in CNI_IFNAME
/// is ignored, as the reference does: this plugin only ever touches lo.
/// </summary>
public sealed class Loopback : ICniPlugin
{
    public string Type => "loopback";

    public CniResult Add(CniInvocation call)
    {
        using NetNs ns = PodNetns.Open(call.Netns);
        using RtnlConnection rtnl = RtnlConnection.Open(ns);
        Link lo = rtnl.TryGetLink("lo") ?? throw new CniException(CniErrorCode.Internal, $"failed to find \"lo\" in {call.Netns}");
        rtnl.SetLinkUp(lo.Index);
        List<IfAddress> v4 = [.. rtnl.DumpAddresses(AddressFamily.InterNetwork, lo.Index)];
        List<IfAddress> v6 = [.. rtnl.DumpAddresses(AddressFamily.InterNetworkV6, lo.Index)];
        foreach (IfAddress a in v4.Concat(v6))
        {
            if (!System.Net.IPAddress.IsLoopback(a.Address))
            {
                throw new CniException(CniErrorCode.Internal, $"loopback interface found with non-loopback address \"{a.Address}\"");
            }
        }
        if (call.PrevResult is { } prev)
        {
            return prev;
        }
        CniResult r = new() { Interfaces = [new CniInterface("lo", "00:00:00:00:00:00", call.Netns)] };
        if (v4.Count > 0)
        {
            r.Ips.Add(new CniIpConfig(new InterfaceAddress(v4[0].Address, v4[0].PrefixLength), null, 0));
        }
        if (v6.Count > 0)
        {
            r.Ips.Add(new CniIpConfig(new InterfaceAddress(v6[0].Address, v6[0].PrefixLength), null, 0));
        }
        return r;
    }

    public void Del(CniInvocation call)
    {
        using NetNs? ns = PodNetns.TryOpen(call.Netns);
        if (ns is null)
        {
            return; // no netns given, or the pod is gone already: nothing left to bring down
        }
        using RtnlConnection rtnl = RtnlConnection.Open(ns);
        if (rtnl.TryGetLink("lo") is { } lo)
        {
            rtnl.SetLinkDown(lo.Index);
        }
    }

    public void Check(CniInvocation call)
    {
        using NetNs ns = PodNetns.Open(call.Netns);
        using RtnlConnection rtnl = RtnlConnection.Open(ns);
        if (!(rtnl.TryGetLink("lo")?.IsUp ?? false))
        {
            throw new CniException(CniErrorCode.Internal, "loopback interface is down");
        }
    }
}
