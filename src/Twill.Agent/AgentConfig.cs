using Microsoft.Extensions.Logging;
using Twill.Backends;
using Twill.Bgp.Config;
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

    /// <summary>
    /// The bgp backend's section, read and checked in full (peers' password files too); null for
    /// another backend. Problems become a <see cref="NetworkConfigException"/> whose errors name the
    /// field (<c>Backend.Peers[0].ASN</c>), as every other net-conf.json error does.
    /// </summary>
    public static BgpBackendConfig? ReadBgp(NetworkConfig config, string source, ILogger log)
    {
        if (config.Backend is not BgpBackendSection section)
        {
            return null;
        }
        try
        {
            BgpBackendConfig bgp = BgpBackendConfigReader.Parse(section.Json, out IReadOnlyList<string> warnings);
            foreach (string warning in warnings)
            {
                log.LogWarning("{Source}: {Warning}", source, warning);
            }
            if (bgp.Mode == TorMode.Bgp)
            {
                // Password files are read now: a missing one is a configuration error, not a session that never comes up.
                for (int i = 0; i < bgp.Peers.Count; i++)
                {
                    bgp.Peers[i].ResolvePassword($"Backend.Peers[{i}]");
                }
            }
            return bgp;
        }
        catch (BgpConfigException e)
        {
            throw new NetworkConfigException([.. e.Errors.Select(m => ToConfigError(source, m))]);
        }
    }

    /// <summary>"Backend.Peers[0].ASN: expected ..." as a <see cref="ConfigError"/> with that field.</summary>
    internal static ConfigError ToConfigError(string source, string message)
    {
        int colon = message.IndexOf(": ", StringComparison.Ordinal);
        string? field = colon > 0 && !message[..colon].Contains(' ', StringComparison.Ordinal) ? message[..colon] : null;
        return new ConfigError(source, field, message);
    }

    /// <summary>net-conf's Backend section as the backend's settings.</summary>
    internal static BackendSettings ToSettings(BackendConfig backend) => BackendSettings.From(backend);
}
