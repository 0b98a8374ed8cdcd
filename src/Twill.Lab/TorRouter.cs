using System.Net;
using System.Net.Sockets;
using Twill.Core;
using Twill.Netlink;
using Twill.Os;

namespace Twill.Lab;

/// <summary>
/// The ToR's FRR as the lab runs it (../shared/reference/frr-tor.md): zebra, staticd and bgpd in the
/// ToR namespace, in the foreground (so the PID the lab records is the daemon's own), with configs,
/// PID files, zserv and vty sockets all in the lab's state directory (never the package's service,
/// never /etc/frr); and what the lab asks it through vtysh and the ToR's kernel table.
/// </summary>
internal sealed class TorRouter
{
    public const string FrrDirectory = "/usr/lib/frr";

    public const string VtyshPath = "vtysh";

    /// <summary>The user FRR drops to (the Debian package creates it).</summary>
    public const string FrrUser = "frr";

    /// <summary>In start order: staticd and bgpd connect to zebra's zserv socket.</summary>
    public static readonly IReadOnlyList<string> Daemons = ["zebra", "staticd", "bgpd"];

    /// <summary>RTPROT_ZSTATIC: how zebra marks the static routes it installs (FRR's rt_protos.d).</summary>
    public const RouteProtocol ZebraStatic = (RouteProtocol)196;

    public TorRouter(LabPaths paths)
    {
        Directory = Path.Combine(paths.Root, "tor");
    }

    /// <summary>Configs and logs; <see cref="RunDirectory"/> holds the PID files and sockets.</summary>
    public string Directory { get; }

    public string RunDirectory => Path.Combine(Directory, "run");

    /// <summary>What <c>twill tor routes --format frr</c> printed, as typed into the ToR (static mode).</summary>
    public string StaticRoutesFile => Path.Combine(Directory, "static-routes.frr");

    public static string Role(string daemon) => "tor " + daemon;

    public string Log(string daemon) => Path.Combine(Directory, daemon + ".log");

    /// <summary>Writes each daemon's config (bgpd's from <paramref name="tor"/>) and gives the directory to the frr user.</summary>
    public void WriteConfig(LabTor tor)
    {
        System.IO.Directory.CreateDirectory(RunDirectory);
        foreach (string daemon in Daemons)
        {
            File.WriteAllText(Config(daemon), daemon == "bgpd" ? TorPlanner.BgpdConf(tor) : "hostname tor\n");
        }
        ProcessResult chown = Run(["chown", "-R", $"{FrrUser}:{FrrUser}", Directory]);
        if (chown.ExitCode != 0)
        {
            throw new LabStepException($"chown {FrrUser} {Directory}: {chown.StderrText.Trim()}");
        }
        LetFrrTraverse(Path.GetDirectoryName(Directory));
    }

    /// <summary>
    /// The lab's directories are 0700 (docs/security.md), but FRR's daemons drop to the frr user and
    /// must reach their own directory: each ancestor gets search permission for others (o+x) — not
    /// read, so nothing in them can be listed, and the lab's files stay 0600.
    /// </summary>
    private static void LetFrrTraverse(string? dir)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        for (; !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            UnixFileMode mode = File.GetUnixFileMode(dir);
            if (!mode.HasFlag(UnixFileMode.OtherExecute))
            {
                File.SetUnixFileMode(dir, mode | UnixFileMode.OtherExecute);
            }
        }
    }

    /// <summary>The daemon's command line: foreground, log on stdout (the lab's log file), no TCP vty.</summary>
    public IReadOnlyList<string> Arguments(string daemon) =>
    [
        Path.Combine(FrrDirectory, daemon),
        "-u", FrrUser, "-g", FrrUser,
        "-P", "0",
        "--log", "stdout",
        "-f", Config(daemon),
        "-i", Path.Combine(RunDirectory, daemon + ".pid"),
        "-z", Path.Combine(RunDirectory, "zserv.api"),
        "--vty_socket", RunDirectory,
    ];

    /// <summary>Whether the daemon has opened its vty socket (it has read its config and vtysh can talk to it).</summary>
    public bool Answers(string daemon) => File.Exists(Path.Combine(RunDirectory, daemon + ".vty"));

    /// <summary><c>vtysh -c COMMAND</c> against this ToR's daemons; its output, or why there is none.</summary>
    public string Show(string command)
    {
        ProcessResult r = Run([VtyshPath, "--vty_socket", RunDirectory, "-c", command]);
        return r.ExitCode == 0 ? r.StdoutText.TrimEnd() : $"vtysh -c '{command}' exited {r.ExitCode}: {(r.StderrText + r.StdoutText).Trim()}";
    }

    /// <summary>Types <paramref name="configuration"/> (FRR config lines) into the running ToR, as an operator pastes it: <c>vtysh -f</c>.</summary>
    public void Apply(string configuration)
    {
        ProcessResult r = Run([VtyshPath, "--vty_socket", RunDirectory, "-f", "/dev/stdin"], System.Text.Encoding.UTF8.GetBytes(configuration));
        if (r.ExitCode != 0)
        {
            throw new LabStepException($"vtysh refused the routes (exit {r.ExitCode}): {(r.StdoutText + r.StderrText).Trim()}");
        }
    }

    /// <summary>The ToR kernel's routes into the cluster network (what it forwards pod traffic by).</summary>
    public static IReadOnlyList<Route> PodRoutes(string torNamespace, IPNetwork cluster)
    {
        using NetNs ns = NetNs.Open(torNamespace);
        using RtnlConnection rtnl = RtnlConnection.Open(ns);
        return [.. rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main)
            .Where(r => r.Destination.PrefixLength > 0 && SubnetMath.Contains(cluster, r.Destination))];
    }

    /// <summary>The nodes whose subnet the ToR's kernel does not route via the node's address, as "node2 (10.244.1.0/24 via 198.51.100.12)".</summary>
    public static IReadOnlyList<string> Unrouted(IReadOnlyList<Route> routes, IEnumerable<LabNodeState> nodes) =>
    [
        .. nodes.Where(n => n.Subnet is not null)
            .Select(n => (n, Subnet: InterfaceAddress.Parse(n.Subnet!).Network))
            .Where(x => !routes.Any(r => r.Destination.Equals(x.Subnet) && r.Gateway?.ToString() == x.n.Address))
            .Select(x => $"{x.n.Name} ({x.Subnet} via {x.n.Address})"),
    ];

    public static string Describe(RouteProtocol protocol) => protocol switch
    {
        RouteProtocol.Bgp => "bgp",
        ZebraStatic => "static",
        _ => ((byte)protocol).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// FRR keeps a per-process log buffer in /var/tmp/frr/DAEMON.PID and removes it on a clean exit;
    /// a daemon killed hard leaves it. Removes those of the lab's own daemons, by their recorded PID.
    /// </summary>
    public static void RemoveLeftovers(IEnumerable<LabProcess> processes)
    {
        foreach (LabProcess p in processes.Where(p => p.Pid > 0 && p.Role.StartsWith("tor ", StringComparison.Ordinal)))
        {
            string dir = Path.Combine("/var/tmp/frr", $"{p.Role["tor ".Length..]}.{p.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            if (System.IO.Directory.Exists(dir) && !LabProcesses.IsAlive(p))
            {
                System.IO.Directory.Delete(dir, recursive: true);
            }
        }
    }

    private string Config(string daemon) => Path.Combine(Directory, daemon + ".conf");

    internal static ProcessResult Run(IReadOnlyList<string> command, byte[]? stdin = null)
    {
        try
        {
            return ManagedProcessRunner.Instance.Run(new ProcessSpec(command[0], [.. command.Skip(1)])
            {
                Stdin = stdin,
                Timeout = TimeSpan.FromSeconds(30),
            });
        }
        catch (Exception e) when (e is ProcessStartException or TimeoutException)
        {
            throw new LabStepException($"{command[0]}: {e.Message}", e);
        }
    }
}
