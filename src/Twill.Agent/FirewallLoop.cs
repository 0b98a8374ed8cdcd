using Microsoft.Extensions.Logging;
using Twill.Core;
using Twill.Firewall;
using Twill.Firewall.Masquerade;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// The node's masquerade and forward rules: applied once the lease is known, then checked every
/// <c>--iptables-resync</c> and restored when they drifted (another tool flushed a chain).
/// </summary>
internal sealed class FirewallLoop(NodeFirewall firewall, TimeSpan period, ILogger log)
{
    /// <summary>The rules for this node, applied now (a failure is logged and retried by the loop); null when neither --ip-masq nor forward rules are wanted.</summary>
    public static FirewallLoop? Start(AgentOptions options, NetworkConfig config, Lease lease, ILogger log)
    {
        if (!options.IpMasq && !options.IptablesForwardRules)
        {
            return null;
        }
        NodeFirewall firewall = new(
            DualStack.FirewallConfig(config, lease, options.IpMasq, options.IptablesForwardRules),
            Runner(options),
            config.EnableNFTables ? NodeFirewallBackend.Nftables : NodeFirewallBackend.Iptables);
        try
        {
            firewall.Apply();
            log.LogInformation("Firewall rules applied (masquerade {IpMasq}, forward {Forward})", options.IpMasq, options.IptablesForwardRules);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.LogError(e, "Applying firewall rules failed; retrying every {Period}", options.IptablesResync);
        }
        return new FirewallLoop(firewall, options.IptablesResync, log);
    }

    /// <summary>The runner of iptables/nft, serialised with other Twill processes through the state directory's lock.</summary>
    public static ProcessFirewallRunner Runner(AgentOptions options) => new(Path.Combine(options.StateDir, "firewall.lock"));

    public async Task RunAsync(CancellationToken ct)
    {
        using PeriodicTimer timer = new(period);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            try
            {
                if (firewall.Resync())
                {
                    log.LogWarning("Firewall rules drifted; restored");
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                log.LogError(e, "Firewall resync failed");
            }
        }
    }
}
