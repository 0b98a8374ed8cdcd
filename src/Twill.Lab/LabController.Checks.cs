using System.Diagnostics;
using System.Net;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>What <c>up</c> checks before making anything, and the small helpers its steps share.</summary>
public sealed partial class LabController
{
    private void Preflight(LabTopology topology)
    {
        List<string> problems = [];
        if (!IsRoot())
        {
            problems.Add("twill lab needs root (network namespaces, netlink, iptables): run it with sudo");
        }
        if (FindOnPath("nsenter") is null)
        {
            problems.Add("nsenter not found on PATH (Debian package util-linux)");
        }
        if (topology.Store == LabStore.Kube)
        {
            problems.AddRange(KubePreflight());
        }
        if (topology.Tor is not null)
        {
            problems.AddRange(TorPreflight());
        }
        if (topology.Store is LabStore.Etcd or LabStore.Kube && FindOnPath("etcd") is null)
        {
            problems.Add($"--store {TopologyPlanner.Format(topology.Store)} needs the etcd binary on PATH (Debian package etcd-server)");
        }
        if (!File.Exists(TwillPath))
        {
            problems.Add($"the twill binary for the agents was not found at {TwillPath}");
        }
        string cni = ResolveCniPath();
        // Agents run by the caller install their own plugins (ILabAgents.Cni), checked when the pods are added.
        foreach (string type in Agents is null ? topology.CniConf.Types.Distinct() : [])
        {
            if (!File.Exists(Path.Combine(cni, type)))
            {
                problems.Add($"CNI plugin \"{type}\" not found in {cni} (run `make build`, or pass --cni-path)");
            }
        }
        LabPaths paths = Paths(topology.Name);
        string prefix = TopologyPlanner.LabPrefix(topology.Name);
        bool stateThere = File.Exists(paths.StateFile);
        bool namespacesThere = NetNs.List().Any(n => n.StartsWith(prefix, StringComparison.Ordinal));
        if (stateThere || namespacesThere)
        {
            string nameFlag = topology.Name == LabOptions.DefaultName ? "" : $" --name {topology.Name}";
            problems.Add($"a lab named \"{topology.Name}\" is already up ({(stateThere ? paths.StateFile : prefix + "* namespaces")}); " +
                         $"remove it with `twill lab down{nameFlag}`, or pick another --name");
        }
        if (problems.Count > 0)
        {
            throw new LabConfigException(string.Join(Environment.NewLine, problems));
        }
    }

    // ---------------------------------------------------------------- helpers

    private void Time(string what, Action action)
    {
        Stopwatch sw = Stopwatch.StartNew();
        action();
        _report.Step(what, sw.Elapsed);
    }

    private static void WaitFor(Func<bool> done, TimeSpan timeout, Func<string?> failedEarly, string timeoutMessage)
    {
        Stopwatch sw = Stopwatch.StartNew();
        while (!done())
        {
            if (failedEarly() is string failure)
            {
                throw new LabStepException(failure);
            }
            if (sw.Elapsed > timeout)
            {
                throw new LabStepException(timeoutMessage);
            }
            Thread.Sleep(25);
        }
    }

    /// <summary>The last lines of a log, for an error message.</summary>
    public static string Tail(string log, int lines = 6)
    {
        if (!File.Exists(log))
        {
            return $"(no log at {log})";
        }
        string[] all = File.ReadAllLines(log);
        string text = string.Join(Environment.NewLine + "    ", all.TakeLast(lines));
        return all.Length == 0 ? $"({log} is empty)" : $"{Environment.NewLine}    {text}{Environment.NewLine}  (full log: {log})";
    }

    public static bool IsRoot()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2] == "0";
            }
        }
        return false;
    }

    public static string? FindOnPath(string program)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    internal static IPAddress? ParseAddress(string? text) => text is not null && IPAddress.TryParse(text, out IPAddress? a) ? a : null;
}
