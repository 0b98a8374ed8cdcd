using System.Text;
using Twill.Core;

namespace Twill.Fuzz;

/// <summary>net-conf.json (the kube-flannel ConfigMap, etcd's &lt;prefix&gt;/config): every problem is a <see cref="NetworkConfigException"/>.</summary>
internal static class NetConfTarget
{
    public static void Run(byte[] data)
    {
        NetworkConfig config;
        try
        {
            config = NetworkConfig.Parse(Encoding.UTF8.GetString(data), out _);
        }
        catch (NetworkConfigException)
        {
            return;
        }
        // What the agent does next with a config that passed: its pools, and the text it writes back.
        _ = config.IPv4Pool;
        _ = config.IPv6Pool;
        NetworkConfig again = NetworkConfig.Parse(config.ToJson(), out _);
        if (again.Network != config.Network || again.SubnetLen != config.SubnetLen)
        {
            throw new InvalidOperationException($"net-conf.json round trip changed the network: {config.ToJson()} -> {again.ToJson()}");
        }
    }
}
