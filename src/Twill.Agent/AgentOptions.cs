using System.Globalization;
using System.Net;
using Twill.Agent.Store;

namespace Twill.Agent;

/// <summary>
/// The agent's settings: Flannel's flags where they make sense (so a flanneld command line
/// translates 1:1) plus Twill's own. Parsed by <see cref="AgentFlags"/>.
/// </summary>
public sealed record AgentOptions
{
    public IReadOnlyList<string> Ifaces { get; init; } = [];
    public IReadOnlyList<string> IfaceRegexes { get; init; } = [];
    public IPAddress? PublicIP { get; init; }

    /// <summary>--public-ipv6: the IPv6 address peers reach this node at (default: the interface's first global one).</summary>
    public IPAddress? PublicIPv6 { get; init; }
    public bool IpMasq { get; init; }
    public bool IptablesForwardRules { get; init; } = true;
    public string SubnetFile { get; init; } = Twill.Core.SubnetEnv.DefaultPath;
    public string NetConfigPath { get; init; } = Twill.Core.NetworkConfig.DefaultPath;

    /// <summary>True when --net-config-path was given: the file wins over a config kept in the store.</summary>
    public bool NetConfigPathGiven { get; init; }

    /// <summary>The lease store: <c>--store</c>, <c>--store-dir</c>, <c>--etcd-*</c>, shared with every command that opens it.</summary>
    public LeaseStoreOptions LeaseStore { get; init; } = new();
    public TimeSpan SubnetLeaseRenewMargin { get; init; } = TimeSpan.FromMinutes(60);
    public IPAddress HealthzIP { get; init; } = IPAddress.Loopback;

    /// <summary>0 = no health server (Flannel's default too).</summary>
    public int HealthzPort { get; init; }
    public TimeSpan IptablesResync { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the agent keeps what must survive restarts (the VtepMAC).</summary>
    public string StateDir { get; init; } = "/var/lib/twill";
    public bool Cleanup { get; init; }
    public bool CleanupDatapath { get; init; }
    public LogLevelName LogLevel { get; init; } = LogLevelName.Info;
}

/// <summary>How much the agent logs.</summary>
public enum LogLevelName
{
    Debug,
    Info,
    Warning,
    Error,
}

/// <summary>
/// Parses the agent's command line like Go's flag package does for flanneld (<c>-flag</c>,
/// <c>--flag value</c>, <c>--flag=value</c>, bare booleans), then fills every flag not given on the
/// command line from the environment variable <c>TWILL_&lt;FLAG&gt;</c> (upper case, '-' → '_'),
/// exactly as flanneld does with <c>FLANNELD_*</c> — the precedence of <see cref="FlagResolver"/>.
/// The store's flags are <see cref="LeaseStoreFlags"/>'s, so the agent and <c>twill leases list</c>
/// choose a store by the same rules. Pure: the environment is passed in.
/// </summary>
public static class AgentFlags
{
    internal static readonly FlagSpec<AgentOptions>[] Specs =
    [
        new("iface", false, true, "interface (name or IP) for the underlay; repeatable, first match wins", (o, v) => o with { Ifaces = [.. o.Ifaces, v] }),
        new("iface-regex", false, true, "regex on interface names or IPs; repeatable", (o, v) => o with { IfaceRegexes = [.. o.IfaceRegexes, v] }),
        new("public-ip", false, false, "IP other nodes reach this node at (default: the interface's)", (o, v) => o with { PublicIP = ParseIp("public-ip", v) }),
        new("public-ipv6", false, false, "IPv6 other nodes reach this node at (default: the interface's)", (o, v) => o with { PublicIPv6 = ParseIp6("public-ipv6", v) }),
        new("ip-masq", true, false, "masquerade pod traffic leaving the pod network", (o, v) => o with { IpMasq = ParseBool("ip-masq", v) }),
        new("iptables-forward-rules", true, false, "accept forwarding of the pod network (default true)", (o, v) => o with { IptablesForwardRules = ParseBool("iptables-forward-rules", v) }),
        new("subnet-file", false, false, "where to write subnet.env (default /run/flannel/subnet.env)", (o, v) => o with { SubnetFile = v }),
        new("net-config-path", false, false, "net-conf.json (default /etc/kube-flannel/net-conf.json; else the store's config)", (o, v) => o with { NetConfigPath = v, NetConfigPathGiven = true }),
        .. LeaseStoreFlags.Specs.Select(f => f.Lift<AgentOptions>(o => o.LeaseStore, (o, store) => o with { LeaseStore = store })),
        new("subnet-lease-renew-margin", false, false, "renew the lease this many minutes before it expires (default 60)", (o, v) => o with { SubnetLeaseRenewMargin = TimeSpan.FromMinutes(ParseInt("subnet-lease-renew-margin", v, 1, 1439)) }),
        new("healthz-ip", false, false, "health server address (default 127.0.0.1)", (o, v) => o with { HealthzIP = ParseIp("healthz-ip", v) }),
        new("healthz-port", false, false, "health server port: /healthz, /readyz, /metrics (default 0 = off)", (o, v) => o with { HealthzPort = ParseInt("healthz-port", v, 0, 65535) }),
        new("iptables-resync", false, false, "seconds between firewall checks (default 5)", (o, v) => o with { IptablesResync = TimeSpan.FromSeconds(ParseInt("iptables-resync", v, 1, 86400)) }),
        new("resync-period", false, false, "reconcile the kernel at least this often: 10s, 500ms, 1m (default 10s)", (o, v) => o with { ResyncPeriod = ParseDuration("resync-period", v) }),
        new("state-dir", false, false, "where the VtepMAC is kept across restarts (default /var/lib/twill)", (o, v) => o with { StateDir = v }),
        new("cleanup", true, false, "remove Twill's firewall rules and exit", (o, v) => o with { Cleanup = ParseBool("cleanup", v) }),
        new("cleanup-datapath", true, false, "with --cleanup: also remove Twill's device and routes", (o, v) => o with { CleanupDatapath = ParseBool("cleanup-datapath", v) }),
        new("log-level", false, false, "debug, info (default), warning, error", (o, v) => o with { LogLevel = ParseLevel(v) }),
    ];

    /// <summary>The flags as help text, one per line.</summary>
    public static string Help => FlagResolver.Help(Specs);

    /// <summary>Parses <paramref name="args"/>, then the environment; throws <see cref="FormatException"/> naming the flag and value.</summary>
    public static AgentOptions Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        Dictionary<string, SettingSource> sources = new(StringComparer.Ordinal);
        AgentOptions options = FlagResolver.Resolve(new AgentOptions(), Specs, Tokenize(args), environment, sources);
        return options with { LeaseStore = LeaseStoreFlags.SelectKind(options.LeaseStore, sources) };
    }

    /// <summary>Go's flag syntax: <c>-flag</c> or <c>--flag</c>, then <c>=value</c> or the next argument; a bare boolean is true.</summary>
    private static List<GivenFlag> Tokenize(IReadOnlyList<string> args)
    {
        List<GivenFlag> given = new(args.Count);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith('-') || arg == "-" || arg == "--")
            {
                throw new FormatException($"unexpected argument '{arg}' (flags start with --)");
            }
            string body = arg.TrimStart('-');
            string? value = null;
            int eq = body.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = body[(eq + 1)..];
                body = body[..eq];
            }
            FlagSpec<AgentOptions> spec = FlagResolver.Find(Specs, body) ?? throw new FormatException($"unknown flag --{body}");
            if (value is null)
            {
                if (spec.IsBool)
                {
                    value = "true";
                }
                else if (i + 1 < args.Count)
                {
                    value = args[++i];
                }
                else
                {
                    throw new FormatException($"flag --{spec.Name} needs a value");
                }
            }
            given.Add(new GivenFlag(spec.Name, value));
        }
        return given;
    }

    /// <summary>The current process's environment as a dictionary.</summary>
    public static IReadOnlyDictionary<string, string> ProcessEnvironment()
    {
        Dictionary<string, string> env = new(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string k && e.Value is string v)
            {
                env[k] = v;
            }
        }
        return env;
    }

    private static IPAddress ParseIp(string flag, string v) =>
        IPAddress.TryParse(v, out IPAddress? ip) ? ip : throw new FormatException($"--{flag}: '{v}' is not an IP address");

    private static IPAddress ParseIp6(string flag, string v) =>
        IPAddress.TryParse(v, out IPAddress? ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? ip
            : throw new FormatException($"--{flag}: '{v}' is not an IPv6 address");

    private static bool ParseBool(string flag, string v) => v.ToLowerInvariant() switch
    {
        "true" or "1" or "t" or "yes" => true,
        "false" or "0" or "f" or "no" => false,
        _ => throw new FormatException($"--{flag}: '{v}' is not a boolean"),
    };

    private static int ParseInt(string flag, string v, int min, int max) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n
            : throw new FormatException($"--{flag}: '{v}' is not an integer in {min}..{max}");

    private static LogLevelName ParseLevel(string v) => v.ToLowerInvariant() switch
    {
        "debug" => LogLevelName.Debug,
        "info" => LogLevelName.Info,
        "warning" or "warn" => LogLevelName.Warning,
        "error" => LogLevelName.Error,
        _ => throw new FormatException($"--log-level: '{v}' is not a level (debug, info, warning, error)"),
    };

    /// <summary>Go-style durations: 10s, 500ms, 1m, 1h; a bare number is seconds.</summary>
    internal static TimeSpan ParseDuration(string flag, string v)
    {
        (string number, double scale) = v switch
        {
            _ when v.EndsWith("ms", StringComparison.Ordinal) => (v[..^2], 0.001),
            _ when v.EndsWith('s') => (v[..^1], 1.0),
            _ when v.EndsWith('m') => (v[..^1], 60.0),
            _ when v.EndsWith('h') => (v[..^1], 3600.0),
            _ => (v, 1.0),
        };
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) && n > 0
            ? TimeSpan.FromSeconds(n * scale)
            : throw new FormatException($"--{flag}: '{v}' is not a positive duration (e.g. 10s, 500ms)");
    }
}
