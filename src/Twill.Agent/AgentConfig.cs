using Microsoft.Extensions.Logging;
using Twill.Backends;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Agent;

/// <summary>
/// What the agent makes of its configuration before it touches the kernel: net-conf.json (the file,
/// else the store's copy), the backend settings it maps to, and the subnet(s) of the previous run.
/// </summary>
internal static class AgentConfig
{
    /// <summary>The network configuration: <c>--net-config-path</c> when given or present, else the store's; warnings go to the log.</summary>
    public static async Task<NetworkConfig> LoadAsync(AgentOptions options, ILeaseStore store, ILogger log, CancellationToken ct)
    {
        string? json = null;
        string source = options.NetConfigPath;
        if (options.NetConfigPathGiven || File.Exists(options.NetConfigPath))
        {
            json = await File.ReadAllTextAsync(options.NetConfigPath, ct).ConfigureAwait(false);
        }
        else
        {
            json = await store.GetNetworkConfigAsync(ct).ConfigureAwait(false);
            source = store.Description + " config";
        }
        if (json is null)
        {
            throw new InvalidOperationException($"no network configuration: {options.NetConfigPath} does not exist and {store.Description} holds none");
        }
        NetworkConfig config = NetworkConfig.Parse(json, out IReadOnlyList<string> warnings, source);
        foreach (string warning in warnings)
        {
            log.LogWarning("{Warning}", warning);
        }
        return config;
    }

    /// <summary>The subnet(s) in the previous run's subnet.env, for the lease manager to reuse; null when none or unreadable.</summary>
    public static LeaseSubnets? PreviousSubnets(AgentOptions options, ILogger log)
    {
        try
        {
            return File.Exists(options.SubnetFile) ? LeaseSubnets.FromSubnetEnv(SubnetEnv.Read(options.SubnetFile)) : null;
        }
        catch (FormatException e)
        {
            log.LogWarning("Ignoring unreadable {SubnetFile}: {Error}", options.SubnetFile, e.Message);
            return null;
        }
    }

    /// <summary>net-conf's Backend section as the backend's settings.</summary>
    internal static BackendSettings ToSettings(BackendConfig backend) => BackendSettings.From(backend);
}
