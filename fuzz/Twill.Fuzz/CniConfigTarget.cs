using System.Text.Json;
using System.Text.Json.Nodes;
using Twill.Cni.Plugins;
using Twill.Cni.Plugins.Bridge;
using Twill.Cni.Plugins.Flannel;
using Twill.Cni.Plugins.HostLocal;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Fuzz;

/// <summary>
/// A network config on stdin, as each plugin reads it before touching the kernel: the common keys,
/// bridge's, host-local's, portmap's (prevResult, portMappings) and flannel's delegate derivation,
/// whose output is read again as the delegate would read it. A bad config is a
/// <see cref="CniException"/> with a spec code; anything else reaches the runtime as code 999.
/// </summary>
internal static class CniConfigTarget
{
    private static readonly SubnetEnv Env = SubnetEnv.Parse("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=2001:db8::/56\nFLANNEL_IPV6_SUBNET=2001:db8:0:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");

    public static void Run(byte[] data)
    {
        CniInvocation call;
        try
        {
            call = Call(data);
        }
        catch (CniException)
        {
            return;
        }
        Each(call);
        byte[] delegated;
        try
        {
            JsonObject conf = FlannelPlugin.ParseObject(data);
            delegated = FlannelPlugin.DeriveDelegate(conf, Env, call.Name, call.Config);
        }
        catch (CniException)
        {
            return;
        }
        // FlannelPlugin.Add reads the delegate's type so from its own output.
        _ = ((JsonObject)JsonNode.Parse(delegated)!)["type"]!.GetValue<string>();
        Each(Call(delegated));
    }

    private static CniInvocation Call(byte[] data)
    {
        (JsonElement root, string version, string name, string type) = CniInvocation.ParseConfig(data);
        return new CniInvocation
        {
            Command = "ADD",
            ContainerId = "fuzz",
            IfName = "eth0",
            StdinData = data,
            Config = root,
            CniVersion = version,
            Name = name,
            Type = type,
        };
    }

    private static void Each(CniInvocation call)
    {
        try { BridgeConfig.Load(call); } catch (CniException) { }
        try { HostLocalConfig.Load(call); } catch (CniException) { }
        try { PortmapPlugin.Target(call, call.PrevResult ?? new CniResult()); } catch (CniException) { }
    }
}
