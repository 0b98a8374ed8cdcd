using System.Net;
using System.Net.Sockets;
using Twill.Core;

namespace Twill.Agent;

/// <summary>
/// subnet.env, the agent's hand-over to the CNI plugin: built from the stacks and written (atomically,
/// by <see cref="SubnetEnv.Write"/>) when it changes. Each family's stack gives its FLANNEL_*SUBNET
/// line; FLANNEL_MTU is the smallest device MTU of all stacks, so a dual-stack pod's one MTU fits both tunnels.
/// </summary>
internal sealed class SubnetEnvPublisher(string path, NetworkConfig config, bool ipMasq)
{
    /// <summary>What was last written; null before the data path was first ready.</summary>
    public SubnetEnv? Written { get; private set; }

    public string Path => path;

    /// <summary>Writes subnet.env for <paramref name="stacks"/> when it differs from what was written; true when it wrote.</summary>
    public bool Publish(IReadOnlyList<DataPathStack> stacks)
    {
        SubnetEnv env = Build(config, stacks, ipMasq);
        if (Written is not null && env.Format() == Written.Format())
        {
            return false;
        }
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        env.Write(path);
        Written = env;
        return true;
    }

    internal static SubnetEnv Build(NetworkConfig config, IReadOnlyList<DataPathStack> stacks, bool ipMasq)
    {
        DataPathStack? v4 = stacks.FirstOrDefault(s => s.Own.Subnet.BaseAddress.AddressFamily == AddressFamily.InterNetwork);
        DataPathStack? v6 = stacks.FirstOrDefault(s => s.Own.Subnet.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6);
        return new SubnetEnv
        {
            Networks = v4 is not null && config.Network is IPNetwork n ? [n] : [],
            Subnet = v4 is null ? null : InterfaceAddress.FirstHost(v4.Own.Subnet),
            IPv6Networks = v6 is not null && config.IPv6Network is IPNetwork n6 ? [n6] : [],
            IPv6Subnet = v6 is null ? null : InterfaceAddress.FirstHost(v6.Own.Subnet),
            Mtu = stacks.Min(s => s.LastPlan?.Device?.Mtu ?? s.Underlay.Mtu),
            IpMasq = ipMasq,
        };
    }
}
