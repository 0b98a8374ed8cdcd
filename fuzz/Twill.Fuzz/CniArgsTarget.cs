using System.Text;
using System.Text.Json;
using Twill.Cni.Plugins.Bridge;
using Twill.Cni.Plugins.HostLocal;
using Twill.Cni.Protocol;

namespace Twill.Fuzz;

/// <summary>
/// CNI_ARGS (the runtime's, e.g. IP=10.244.1.5;MAC=…;K8S_POD_NAME=…) as bridge and host-local read
/// it beside a valid config: a bad value is a <see cref="CniException"/> with a code, nothing else.
/// </summary>
internal static class CniArgsTarget
{
    private static readonly byte[] Config = Encoding.UTF8.GetBytes(
        """{"cniVersion":"1.0.0","name":"cbr0","type":"bridge","ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}],[{"subnet":"2001:db8:1::/64"}]]}}""");

    public static void Run(byte[] data)
    {
        try
        {
            CniArgs args = CniArgs.Parse(Encoding.UTF8.GetString(data));
            (JsonElement root, string version, string name, string type) = CniInvocation.ParseConfig(Config);
            CniInvocation call = new()
            {
                Command = "ADD",
                ContainerId = "fuzz",
                IfName = "eth0",
                Args = args,
                StdinData = Config,
                Config = root,
                CniVersion = version,
                Name = name,
                Type = type,
            };
            _ = args.IgnoreUnknown;
            try
            {
                BridgeConfig.Load(call);
            }
            catch (CniException)
            {
            }
            HostLocalConfig.Load(call);
        }
        catch (CniException)
        {
        }
    }
}
