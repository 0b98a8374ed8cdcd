using System.Net;
using System.Net.Sockets;
using Twill.Agent;
using Twill.Agent.Store;
using Twill.Core;
using Twill.Netlink;
using Twill.Os;

namespace Twill.Cli.Doctor;

/// <summary>
/// Reads this node for the doctor, in the network namespace it runs in: net-conf.json, sysctls, the
/// kernel's module tables (under <see cref="DoctorSettings.HostRoot"/>), links and routes over
/// rtnetlink, /proc/net/udp, iptables (through <see cref="IProcessRunner"/>), subnet.env, the CNI
/// directories and the lease store. Thin: no decision is taken here (<see cref="DoctorChecks"/> does).
/// </summary>
public sealed class NodeProbe(DoctorSettings settings, LeaseStoreOptions storeOptions, IProcessRunner runner)
{
    private static readonly string[] ConfExtensions = [".conf", ".conflist", ".json"];

    public async Task<NodeObservation> ReadAsync(CancellationToken cancellationToken)
    {
        StoreReading store = await StoreReading.OpenAsync(storeOptions, settings.StoreTimeout, cancellationToken).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
        {
            (NetworkConfig? config, string? configError, string configSource) = ReadConfig(store.Config);
            using RtnlConnection rtnl = RtnlConnection.Open();
            IReadOnlyList<Link> links = rtnl.DumpLinks();
            UnderlayChoice? underlay = null;
            string? underlayError = null;
            if (config is not null)
            {
                try
                {
                    underlay = UnderlaySelector.Choose(UnderlayFacts.Read(rtnl), settings.Agent, config.EnableIPv4, config.EnableIPv6);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException)
                {
                    underlayError = e.Message;
                }
            }
            IPAddress? publicIP = store.ClusterPublicIP ?? underlay?.PublicIP ?? underlay?.PublicIPv6;
            int? port = DoctorChecks.Settings(config) is { Kind: Twill.Backends.BackendKind.Vxlan } s ? s.EffectivePort : null;
            return new NodeObservation
            {
                Settings = settings,
                Config = config,
                ConfigError = configError,
                ConfigSource = configSource,
                Sysctls = ReadSysctls(DoctorChecks.SysctlsToRead(config, underlay, links.Select(l => l.Name))),
                Modules = ReadModules(settings.HostRoot),
                Underlay = underlay,
                UnderlayError = underlayError,
                Links = links,
                Routes = [.. rtnl.DumpRoutes(AddressFamily.InterNetwork), .. rtnl.DumpRoutes(AddressFamily.InterNetworkV6)],
                PortSockets = port is int p ? ReadUdp(p) : [],
                Iptables = ReadIptables(),
                Store = store.Observation(publicIP),
                SubnetEnvText = File.Exists(settings.SubnetFile) ? File.ReadAllText(settings.SubnetFile) : null,
                Cni = ReadCni(),
            };
        }
    }

    /// <summary>net-conf.json as the agent finds it: the file when given or present, else the store's copy.</summary>
    private (NetworkConfig?, string?, string) ReadConfig(string? storeConfig)
    {
        string path = settings.NetConfPath;
        string? json = null;
        string source = path;
        try
        {
            if (File.Exists(path))
            {
                json = File.ReadAllText(path);
            }
            else if (storeConfig is not null)
            {
                json = storeConfig;
                source = "the store's config";
            }
            else
            {
                return (null, $"{path} does not exist, and the store holds no network configuration", path);
            }
            return (NetworkConfig.Parse(json, out _, source), null, source);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            return (null, e.Message.Replace(Environment.NewLine, "; ", StringComparison.Ordinal), source);
        }
    }

    private static Dictionary<string, string?> ReadSysctls(IEnumerable<string> keys)
    {
        Dictionary<string, string?> values = new(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            try
            {
                values[key] = Sysctl.Read(null, DoctorChecks.SysctlPath(key));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                values[key] = null;
            }
        }
        return values;
    }

    /// <summary>Loaded modules (/proc/modules), those with a /sys/module entry, and the built-in ones (modules.builtin).</summary>
    private static HashSet<string> ReadModules(string root)
    {
        HashSet<string> modules = new(StringComparer.Ordinal);
        string procModules = Path.Combine(root, "proc/modules");
        if (File.Exists(procModules))
        {
            modules.UnionWith(KernelTables.ParseModules(File.ReadAllText(procModules)));
        }
        string sysModule = Path.Combine(root, "sys/module");
        if (Directory.Exists(sysModule))
        {
            modules.UnionWith(Directory.GetDirectories(sysModule).Select(d => Path.GetFileName(d)));
        }
        string release = Path.Combine(root, "proc/sys/kernel/osrelease");
        string builtin = Path.Combine(root, "lib/modules", File.Exists(release) ? File.ReadAllText(release).Trim() : Environment.OSVersion.Version.ToString(), "modules.builtin");
        if (File.Exists(builtin))
        {
            modules.UnionWith(KernelTables.ParseBuiltin(File.ReadAllText(builtin)));
        }
        return modules;
    }

    /// <summary>The sockets bound to <paramref name="port"/> in this namespace, each with the process holding it (none: the kernel's).</summary>
    private static List<UdpSocket> ReadUdp(int port)
    {
        List<(IPAddress Address, int Port, long Inode)> bound = [];
        foreach (string table in (string[])["/proc/net/udp", "/proc/net/udp6"])
        {
            if (File.Exists(table))
            {
                bound.AddRange(KernelTables.ParseUdp(File.ReadAllText(table), port));
            }
        }
        Dictionary<long, string> owners = bound.Count == 0 ? [] : SocketOwners([.. bound.Select(b => b.Inode)]);
        return [.. bound.Select(b => new UdpSocket(b.Address, b.Port, b.Inode, owners.GetValueOrDefault(b.Inode)))];
    }

    /// <summary>"comm (pid N)" of the processes holding each socket inode, found through /proc/PID/fd (as ss -p does).</summary>
    private static Dictionary<long, string> SocketOwners(HashSet<long> inodes)
    {
        Dictionary<long, string> owners = [];
        foreach (string proc in Directory.EnumerateDirectories("/proc"))
        {
            string pid = Path.GetFileName(proc);
            if (!pid.All(char.IsAsciiDigit))
            {
                continue;
            }
            try
            {
                foreach (string fd in Directory.EnumerateFileSystemEntries(Path.Combine(proc, "fd")))
                {
                    string? target = new FileInfo(fd).LinkTarget;
                    if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal)
                        && long.TryParse(target.AsSpan(8, target.Length - 9), out long inode) && inodes.Contains(inode))
                    {
                        owners.TryAdd(inode, $"{File.ReadAllText(Path.Combine(proc, "comm")).Trim()} (pid {pid})");
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked, or hides its descriptors.
            }
        }
        return owners;
    }

    private IptablesObservation ReadIptables()
    {
        string? version = RunTool("iptables", "--version");
        string? mode = version is null ? null
            : version.Contains("nf_tables", StringComparison.Ordinal) ? "nf_tables"
            : version.Contains("legacy", StringComparison.Ordinal) ? "legacy" : null;
        return new IptablesObservation(mode, CountRules(RunTool("iptables-legacy-save")), CountRules(RunTool("iptables-nft-save")));
    }

    private static int? CountRules(string? saved) =>
        saved?.Split('\n').Count(l => l.StartsWith("-A ", StringComparison.Ordinal));

    /// <summary>The tool's stdout, or null when it is not installed or failed.</summary>
    private string? RunTool(string tool, params string[] args)
    {
        try
        {
            ProcessResult r = runner.Run(new ProcessSpec(tool, args) { Timeout = TimeSpan.FromSeconds(15), Overrides = new Dictionary<string, string> { ["LC_ALL"] = "C" } });
            return r.ExitCode == 0 ? r.StdoutText : null;
        }
        catch (Exception e) when (e is ProcessStartException or TimeoutException)
        {
            return null;
        }
    }

    private CniObservation ReadCni()
    {
        List<(string, string)> confs = [];
        if (Directory.Exists(settings.CniConfDir))
        {
            // libcni's order: every .conf, .conflist and .json file, by name; the runtime uses the first.
            foreach (string file in Directory.GetFiles(settings.CniConfDir).Order(StringComparer.Ordinal))
            {
                if (ConfExtensions.Contains(Path.GetExtension(file)))
                {
                    confs.Add((Path.GetFileName(file), File.ReadAllText(file)));
                }
            }
        }
        string? source = settings.PluginSource is string s && Directory.Exists(s) ? s : null;
        return new CniObservation(confs, Executables(settings.CniBinDir), source, source is null ? new HashSet<string>() : Executables(source));
    }

    private static HashSet<string> Executables(string dir)
    {
        HashSet<string> names = new(StringComparer.Ordinal);
        if (!Directory.Exists(dir))
        {
            return names;
        }
        const UnixFileMode exec = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        foreach (string file in Directory.GetFiles(dir))
        {
            // File.GetUnixFileMode follows a symlink to its target, as exec does.
            if (OperatingSystem.IsWindows() || (File.GetUnixFileMode(file) & exec) != 0)
            {
                names.Add(Path.GetFileName(file));
            }
        }
        return names;
    }
}
