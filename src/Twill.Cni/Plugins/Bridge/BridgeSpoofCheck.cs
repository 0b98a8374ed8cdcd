using System.Net.NetworkInformation;
using Twill.Cni.Protocol;
using Twill.Firewall;
using Twill.Firewall.Spoofcheck;

namespace Twill.Cni.Plugins.Bridge;

/// <summary>
/// bridge's <c>macspoofchk</c>: frames entering the bridge from the pod's node-side veth must carry
/// the pod interface's MAC (Twill.Firewall's <see cref="MacSpoofCheck"/>, the reference's nft layout).
/// </summary>
internal static class BridgeSpoofCheck
{
    /// <summary>ADD, once the node-side veth exists and the pod's MAC is known.</summary>
    public static void Setup(CniInvocation call, string hostInterface, PhysicalAddress? containerMac)
    {
        if (containerMac is null)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to setup spoof-check: interface {call.IfName} has no MAC address");
        }
        try
        {
            MacSpoofCheck.Setup(hostInterface, containerMac, call.ContainerId, call.IfName, call.Context.Firewall());
        }
        catch (Exception e) when (e is FirewallException or ArgumentException)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to setup spoof-check: {e.Message}");
        }
    }

    /// <summary>
    /// DEL, and the undo of a failed ADD. Found by (container id, ifname) alone, so it also runs when
    /// the pod's namespace is gone (the reference leaks the rules then).
    /// </summary>
    public static void Teardown(CniInvocation call)
    {
        try
        {
            MacSpoofCheck.Teardown(call.ContainerId, call.IfName, call.Context.Firewall());
        }
        catch (FirewallException e)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to teardown spoof-check of {MacSpoofCheck.RefId(call.ContainerId, call.IfName)}: {e.Message}");
        }
    }

    /// <summary>The undo of a failed ADD: the first failure is the one to report.</summary>
    public static void TryTeardown(CniInvocation call)
    {
        try
        {
            Teardown(call);
        }
        catch (CniException e)
        {
            Console.Error.WriteLine(e.Message);
        }
    }
}
