using System.CommandLine;
using Twill.Agent;
using Twill.Agent.Store;
using Twill.Core;
using Twill.Os;

namespace Twill.Cli.Doctor;

/// <summary>
/// <c>twill doctor</c>: checks this node for what the pod network needs, each ✓ / ⚠ / ✗ with the exact
/// fix; <c>--fix</c> applies the safe fixes, reads the node again and reports what is left. Exit code:
/// 0 all ok, 1 a warning, 2 a failure (a usage error is 2 too). The store flags are the agent's
/// (<see cref="LeaseStoreOptionsBinding"/>), the underlay flags the agent's (<see cref="AgentFlags"/>).
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        DoctorSettings d = new();
        LeaseStoreOptionsBinding store = new();
        Option<string> netConf = new("--net-conf") { Description = "net-conf.json (else the store's config, as the agent)", DefaultValueFactory = _ => d.NetConfPath };
        Option<string> subnetFile = new("--subnet-file") { Description = "the agent's subnet.env", DefaultValueFactory = _ => d.SubnetFile };
        Option<string> cniConfDir = new("--cni-conf-dir") { Description = "the runtime's CNI configuration directory", DefaultValueFactory = _ => d.CniConfDir };
        Option<string> cniBinDir = new("--cni-bin-dir") { Description = "the runtime's CNI plugin directory", DefaultValueFactory = _ => d.CniBinDir };
        Option<string> hostRoot = new("--host-root") { Description = "where the host's /proc/modules, /sys/module and /lib/modules are (a container mounting the host)", DefaultValueFactory = _ => d.HostRoot };
        Option<string[]> iface = new("--iface") { Description = "the agent's --iface (repeatable)", AllowMultipleArgumentsPerToken = false };
        Option<string[]> ifaceRegex = new("--iface-regex") { Description = "the agent's --iface-regex (repeatable)" };
        Option<string?> publicIP = new("--public-ip") { Description = "the agent's --public-ip" };
        Option<bool> windows = new("--windows") { Description = "the cluster has Windows nodes: check VNI 4096 and UDP 4789" };
        Option<int> timeout = new("--store-timeout") { Description = "seconds the store may take to answer", DefaultValueFactory = _ => (int)d.StoreTimeout.TotalSeconds };
        Option<bool> fix = new("--fix") { Description = "apply the safe fixes (sysctls, modprobe, the files Twill owns), then check again" };
        Option<bool> json = new("--json") { Description = "print JSON for scripts" };
        Command command = new("doctor", "Check this node for what the pod network needs (modules, sysctls, underlay, subnet.env, CNI, store); --fix applies the safe fixes.")
        {
            netConf, subnetFile, cniConfDir, cniBinDir, hostRoot, iface, ifaceRegex, publicIP, windows, timeout, fix, json,
        };
        store.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            IReadOnlyDictionary<string, string> environment = AgentFlags.ProcessEnvironment();
            DoctorSettings settings;
            LeaseStoreOptions storeOptions;
            try
            {
                storeOptions = store.Resolve(parse, environment);
                settings = new DoctorSettings
                {
                    NetConfPath = parse.GetValue(netConf)!,
                    SubnetFile = parse.GetValue(subnetFile)!,
                    CniConfDir = parse.GetValue(cniConfDir)!,
                    CniBinDir = parse.GetValue(cniBinDir)!,
                    HostRoot = parse.GetValue(hostRoot)!,
                    Windows = parse.GetValue(windows),
                    Agent = UnderlayFlags(parse.GetValue(iface), parse.GetValue(ifaceRegex), parse.GetValue(publicIP), environment),
                    PluginSource = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "cni")),
                    StoreTimeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
                };
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"twill doctor: {e.Message}");
                return ExitCodes.Usage;
            }
            IProcessRunner runner = ManagedProcessRunner.Instance;
            NodeProbe probe = new(settings, storeOptions, runner);
            IReadOnlyList<Finding> findings = DoctorChecks.Run(await probe.ReadAsync(cancellationToken).ConfigureAwait(false));
            IReadOnlyList<FixOutcome> fixes = [];
            if (parse.GetValue(fix) && findings.Any(f => f.Verdict != Verdict.Ok && f.Remedies.Count > 0))
            {
                fixes = new DoctorFixer(runner).Apply(findings);
                findings = DoctorChecks.Run(await probe.ReadAsync(cancellationToken).ConfigureAwait(false));
            }
            Console.Out.Write(parse.GetValue(json) ? DoctorReport.Json(findings, fixes) : DoctorReport.Text(findings, fixes));
            return (int)DoctorChecks.Worst(findings);
        });
        return command;
    }

    /// <summary>The underlay flags through the agent's own parser, so <c>TWILL_IFACE</c> and friends count here as they do for the agent.</summary>
    private static AgentOptions UnderlayFlags(string[]? ifaces, string[]? regexes, string? publicIP, IReadOnlyDictionary<string, string> environment)
    {
        List<string> args = [];
        foreach (string i in ifaces ?? [])
        {
            args.AddRange(["--iface", i]);
        }
        foreach (string r in regexes ?? [])
        {
            args.AddRange(["--iface-regex", r]);
        }
        if (publicIP is not null)
        {
            args.AddRange(["--public-ip", publicIP]);
        }
        // Only the underlay's variables: the store's are resolved by the store flags above.
        Dictionary<string, string> underlayEnv = environment
            .Where(kv => kv.Key is "TWILL_IFACE" or "TWILL_IFACE_REGEX" or "TWILL_PUBLIC_IP" or "TWILL_PUBLIC_IPV6")
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return AgentFlags.Parse(args, underlayEnv);
    }
}
