using System.Globalization;
using Twill.Backends;
using Twill.Core;
using Twill.Lab;
using Twill.Leases;

namespace Twill.Cli.Doctor;

/// <summary>The hand-off files: subnet.env (agent → CNI plugin), the CNI conflist and the plugin binaries (→ the runtime).</summary>
public static partial class DoctorChecks
{
    /// <summary>The conflist Twill installs (deploy/twill.yml's init container writes the same name).</summary>
    public const string OurConflist = "10-twill.conflist";

    /// <summary>Plugins a pod needs besides the conflist's types: flannel's delegates, and loopback for the pod's lo.</summary>
    private static readonly string[] AlwaysNeeded = ["bridge", "host-local", "loopback"];

    private static IEnumerable<Finding> CheckFiles(NodeObservation o, BackendSettings? settings)
    {
        if (o.Config is NetworkConfig config && settings is not null)
        {
            yield return CheckSubnetEnv(o, config, settings);
        }
        (Finding conflist, IReadOnlyList<string> types) = CheckConflist(o);
        yield return conflist;
        yield return CheckPlugins(o, types);
    }

    /// <summary>What the agent would write for this node's lease, or null when the lease (or the underlay) is not known.</summary>
    internal static SubnetEnv? ExpectedSubnetEnv(NodeObservation o, NetworkConfig config, BackendSettings settings, bool? ipMasq)
    {
        if (o.Store.Own is not Lease lease || o.Underlay is null)
        {
            return null;
        }
        return new SubnetEnv
        {
            Networks = lease.Subnets.IPv4 is not null && config.Network is { } n ? [n] : [],
            Subnet = lease.Subnets.IPv4 is { } v4 ? InterfaceAddress.FirstHost(v4) : null,
            IPv6Networks = lease.Subnets.IPv6 is not null && config.IPv6Network is { } n6 ? [n6] : [],
            IPv6Subnet = lease.Subnets.IPv6 is { } v6 ? InterfaceAddress.FirstHost(v6) : null,
            Mtu = PodMtu(config, settings, o.Underlay),
            IpMasq = ipMasq,
        };
    }

    private static Finding CheckSubnetEnv(NodeObservation o, NetworkConfig config, BackendSettings settings)
    {
        string path = o.Settings.SubnetFile;
        SubnetEnv? have = null;
        string? unreadable = null;
        if (o.SubnetEnvText is string text)
        {
            try
            {
                have = SubnetEnv.Parse(text, path);
            }
            catch (FormatException e)
            {
                unreadable = e.Message;
            }
        }
        SubnetEnv? want = ExpectedSubnetEnv(o, config, settings, have?.IpMasq);
        string lease = o.Store.Own is Lease l ? $"this node's lease {l.Subnets}" : "";
        if (have is null)
        {
            string seen = o.SubnetEnvText is null
                ? $"{path} is missing: every pod ADD answers \"try again later\" (CNI code 11) until the agent writes it"
                : $"{unreadable}: the CNI plugin cannot read it";
            return want is null
                ? Finding.Manual(SubnetEnvCheck, Verdict.Fail, seen, "start the agent (it writes the file once the data path is up): kubectl -n kube-twill rollout restart ds/twill")
                : Finding.Fixable(SubnetEnvCheck, Verdict.Fail, seen, new WriteOwnedFile(path, want.Format(), $"from {lease}"));
        }
        if (want is null)
        {
            if (config.Network is { } n && have.Network is { } hn && !hn.Equals(n))
            {
                return Finding.Manual(SubnetEnvCheck, Verdict.Fail, $"{path}: FLANNEL_NETWORK {hn} but {o.ConfigSource} says {n}: left by another configuration",
                    "restart the agent, which rewrites it");
            }
            string why = o.Store.Error is not null ? "the store did not answer" : "no lease in the store carries this node's public IP";
            return Finding.Manual(SubnetEnvCheck, Verdict.Warn, $"{path} is present, but cannot be compared with this node's lease: {why}",
                "see the store and lease checks");
        }
        string? stale = Difference(have, want);
        if (stale is not null)
        {
            return Finding.Fixable(SubnetEnvCheck, Verdict.Fail, $"{path} is stale: {stale}", new WriteOwnedFile(path, want.Format(), $"from {lease}"));
        }
        return Finding.Ok(SubnetEnvCheck, string.Create(CultureInfo.InvariantCulture, $"{path}: {have.Subnet?.ToString() ?? have.IPv6Subnet?.ToString()}, MTU {have.Mtu}, matches {lease}"));
    }

    /// <summary>The first field in which the file differs from what the agent would write, as "FLANNEL_X a, should be b".</summary>
    private static string? Difference(SubnetEnv have, SubnetEnv want)
    {
        (string Key, string? Have, string? Want)[] fields =
        [
            ("FLANNEL_SUBNET", have.Subnet?.ToString(), want.Subnet?.ToString()),
            ("FLANNEL_NETWORK", have.Network?.ToString(), want.Network?.ToString()),
            ("FLANNEL_IPV6_SUBNET", have.IPv6Subnet?.ToString(), want.IPv6Subnet?.ToString()),
            ("FLANNEL_IPV6_NETWORK", have.IPv6Network?.ToString(), want.IPv6Network?.ToString()),
            ("FLANNEL_MTU", have.Mtu?.ToString(CultureInfo.InvariantCulture), want.Mtu?.ToString(CultureInfo.InvariantCulture)),
        ];
        foreach ((string key, string? h, string? w) in fields)
        {
            if (h != w)
            {
                return $"{key} {h ?? "(none)"}, should be {w ?? "(none)"}";
            }
        }
        return null;
    }

    private static (Finding Finding, IReadOnlyList<string> Types) CheckConflist(NodeObservation o)
    {
        string dir = o.Settings.CniConfDir;
        IReadOnlyList<string> seedTypes = CniConfList.Parse(SeedConfig.CniConfList).Types;
        WriteOwnedFile write = new(Path.Combine(dir, OurConflist), SeedConfig.CniConfList, "the seed's vxlan0 conflist");
        if (o.Cni.ConfFiles.Count == 0)
        {
            return (Finding.Fixable(CniConflist, Verdict.Fail,
                $"no CNI configuration in {dir}: the kubelet keeps the node NotReady (\"cni plugin not initialized\")", write), seedTypes);
        }
        (string name, string text) = o.Cni.ConfFiles[0];
        CniConfList list;
        try
        {
            list = CniConfList.Parse(text, Path.Combine(dir, name));
        }
        catch (LabConfigException e)
        {
            return name == OurConflist
                ? (Finding.Fixable(CniConflist, Verdict.Fail, $"{e.Message.Split('\n')[0]}: the runtime cannot use it", write), seedTypes)
                : (Finding.Manual(CniConflist, Verdict.Fail, $"the runtime reads {name} first (by name), which is not a conflist Twill can use: {e.Message.Split('\n')[0]}",
                    $"move {Path.Combine(dir, name)} away, so that {OurConflist} comes first"), seedTypes);
        }
        if (!list.Types.Contains("flannel"))
        {
            return (Finding.Manual(CniConflist, Verdict.Fail,
                $"the runtime uses {name} (first by name: network {list.Name}, {string.Join(", ", list.Types)}), not Twill's",
                $"move {Path.Combine(dir, name)} away (another network plugin's?), so that {OurConflist} comes first"), list.Types);
        }
        return (Finding.Ok(CniConflist, $"{Path.Combine(dir, name)}: network {list.Name} ({string.Join(", ", list.Types)})"), list.Types);
    }

    private static Finding CheckPlugins(NodeObservation o, IReadOnlyList<string> types)
    {
        string dir = o.Settings.CniBinDir;
        string[] needed = [.. types.Concat(AlwaysNeeded).Distinct(StringComparer.Ordinal)];
        string[] missing = [.. needed.Where(t => !o.Cni.Binaries.Contains(t))];
        if (missing.Length == 0)
        {
            return Finding.Ok(CniPlugins, $"{dir}: {string.Join(", ", needed)}");
        }
        string seen = $"missing from {dir} (or not executable): {string.Join(", ", missing)}";
        string[] ours = [.. missing.Where(o.Cni.SourcePlugins.Contains)];
        if (o.Cni.PluginSource is string source && ours.Length == missing.Length)
        {
            return Finding.Fixable(CniPlugins, Verdict.Fail, seen, new InstallPlugins(source, dir, ours));
        }
        return Finding.Manual(CniPlugins, Verdict.Fail, seen,
            $"install Twill's CNI plugins into {dir} (the DaemonSet's install-cni init container copies them: kubectl -n kube-twill rollout restart ds/twill; from a build: cp out/cni/* {dir}/)");
    }
}
