using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Twill.Lab;
using Twill.Testing;

namespace Twill.Drills;

/// <summary>
/// A lab cluster (<c>twill lab up</c> of the built binary) that drills disturb: commands in its
/// namespaces, its processes stopped and started again with the command line they had, recorded in
/// the lab's state file so <c>twill lab down</c> still stops exactly them.
/// </summary>
public sealed class DrillLab : IDisposable
{
    private DrillLab(string name, string twill)
    {
        Name = name;
        Binary = twill;
        Paths = new LabPaths(name);
    }

    /// <summary>The twill binary: TWILL_BIN, else the repository's out/bin/twill (make build).</summary>
    public static string DefaultBinary => Environment.GetEnvironmentVariable("TWILL_BIN") is { Length: > 0 } env ? env
        : Path.Combine(RepositoryRoot(), "out", "bin", "twill");

    public string Name { get; }

    public string Binary { get; }

    public LabPaths Paths { get; }

    public LabState State => LabState.Load(Paths.StateFile) ?? throw new InvalidOperationException($"lab {Name} has no state file");

    /// <summary>Brings up a lab named d + 6 hex digits with <paramref name="options"/> (twill lab up's flags).</summary>
    public static DrillLab Up(params string[] options)
    {
        string twill = DefaultBinary;
        if (!File.Exists(twill))
        {
            throw new FileNotFoundException($"{twill} is not built: run `make build` first (or set TWILL_BIN)");
        }
        DrillLab lab = new("d" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)), twill);
        Tool.Result up = Tool.Run(twill, ["lab", "up", "--name", lab.Name, .. options], stdin: null, TimeSpan.FromSeconds(180));
        if (up.ExitCode != 0)
        {
            lab.Dispose();
            throw new InvalidOperationException($"twill lab up {string.Join(' ', options)} failed ({up.ExitCode}):\n{up.Stdout}\n{up.Stderr}");
        }
        return lab;
    }

    public LabNodeState Node(string node) => State.Nodes.Single(n => n.Name == node);

    public LabPodState Pod(string pod) => State.Pods.Single(p => p.Name == pod);

    /// <summary>The first pod of <paramref name="node"/>.</summary>
    public LabPodState PodOn(string node) => State.Pods.First(p => p.Node == node && p.Address is not null);

    public static string Address(LabPodState pod) => pod.Address!.Split('/')[0];

    /// <summary>Runs a command inside a lab namespace (a node's, a pod's, the control plane's).</summary>
    public static Tool.Result In(string netns, params string[] command)
    {
        string[] argv = Os.Nsenter.NetNamed(netns, command);
        return Tool.Run(argv[0], argv[1..], stdin: null, TimeSpan.FromSeconds(60));
    }

    public static string Check(string netns, params string[] command) =>
        In(netns, command).EnsureSuccess($"{string.Join(' ', command)} in {netns}").Stdout;

    public LabProcess Process(string role) => State.Processes.Single(p => p.Role == role);

    /// <summary>The process's argv as the kernel has it: sh and nsenter exec, so this is the command itself.</summary>
    public static string[] Argv(LabProcess p) => File.ReadAllText($"/proc/{p.Pid}/cmdline").TrimEnd('\0').Split('\0');

    /// <summary>Sends <paramref name="signal"/> and waits until the process is gone; false when it outlived <paramref name="within"/>.</summary>
    public static bool Stop(LabProcess p, int signal, TimeSpan within)
    {
        _ = Os.Signals.Send(p.Pid, signal);
        return Eventually(within, TimeSpan.FromMilliseconds(10), () => !LabProcesses.IsAlive(p));
    }

    /// <summary>
    /// Starts <paramref name="role"/> again in its namespace with <paramref name="argv"/>, appending to
    /// its log, and records the new PID in the state file in place of the old one.
    /// </summary>
    public LabProcess Restart(string role, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? environment = null)
    {
        LabProcess old = Process(role);
        LabProcess started = LabProcesses.StartBackground(role, old.Namespace, argv, old.Log ?? Path.Combine(Paths.Root, role.Replace(' ', '-') + ".log"), environment);
        LabState state = State;
        LabProcess entry = state.Processes.Single(p => p.Role == role);
        entry.Pid = started.Pid;
        entry.StartTicks = started.StartTicks;
        state.Save(Paths.StateFile);
        return entry;
    }

    /// <summary>The environment variables the lab gave a process that it must be given again (NODE_NAME of the Kubernetes store).</summary>
    public static Dictionary<string, string> KeptEnvironment(LabProcess p)
    {
        Dictionary<string, string> kept = [];
        foreach (string kv in File.ReadAllText($"/proc/{p.Pid}/environ").Split('\0'))
        {
            if (kv.StartsWith("NODE_NAME=", StringComparison.Ordinal))
            {
                kept["NODE_NAME"] = kv["NODE_NAME=".Length..];
            }
        }
        return kept;
    }

    /// <summary>The agent of <paramref name="node"/> answers /readyz on its node's loopback.</summary>
    public bool AgentReady(string node) =>
        In(Node(node).Namespace, "curl", "-sf", "-m", "1", $"http://127.0.0.1:{AgentLaunch.HealthzPort}/readyz").ExitCode == 0;

    /// <summary>Polls <paramref name="condition"/> every <paramref name="every"/> until it holds or <paramref name="within"/> is over.</summary>
    public static bool Eventually(TimeSpan within, TimeSpan every, Func<bool> condition)
    {
        Stopwatch sw = Stopwatch.StartNew();
        while (true)
        {
            if (condition())
            {
                return true;
            }
            if (sw.Elapsed > within)
            {
                return false;
            }
            Thread.Sleep(every);
        }
    }

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    public void Dispose()
    {
        Tool.Result down = Tool.Run(Binary, ["lab", "down", "--name", Name], stdin: null, TimeSpan.FromSeconds(120));
        if (down.ExitCode != 0)
        {
            Console.Error.WriteLine($"twill lab down --name {Name} failed ({down.ExitCode}): {down.Stderr}");
        }
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Twill.slnx")))
            {
                return d.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
