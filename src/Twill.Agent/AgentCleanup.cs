using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Twill.Backends;
using Twill.Firewall.Masquerade;
using Twill.Netlink;

namespace Twill.Agent;

/// <summary>
/// <c>twill agent --cleanup</c>: removes Twill's firewall rules and, with <c>--cleanup-datapath</c>,
/// Twill's devices and routes of both families; the exit code says whether everything went.
/// </summary>
internal static class AgentCleanup
{
    public static int Run(AgentOptions options, ILogger log)
    {
        int code = 0;
        try
        {
            NodeFirewall.Remove(FirewallLoop.Runner(options));
            log.LogInformation("Removed Twill's firewall rules");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.LogError(e, "Removing firewall rules failed");
            code = 1;
        }
        if (options.CleanupDatapath)
        {
            using RtnlConnection rtnl = RtnlConnection.Open();
            foreach (AddressFamily family in (AddressFamily[])[AddressFamily.InterNetwork, AddressFamily.InterNetworkV6])
            {
                RtnlKernelPort port = new(rtnl, family);
                KernelState state = port.Read(null);
                IReadOnlyList<KernelFailure?> results = port.Apply([.. state.Routes.Select(r => new KernelChange.DeleteRoute(r))]);
                foreach (ObservedDevice device in state.Devices)
                {
                    port.DeleteDevice(device.Name);
                }
                int failed = results.Count(r => r is not null);
                log.LogInformation("Removed {Devices} {Family} devices and {Routes} routes", state.Devices.Count, DualStack.Name(family), state.Routes.Count - failed);
                code = failed > 0 ? 1 : code;
            }
        }
        return code;
    }
}
