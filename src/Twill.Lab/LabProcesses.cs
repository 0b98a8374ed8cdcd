using System.Diagnostics;
using System.Globalization;
using Twill.Os;

namespace Twill.Lab;

/// <summary>
/// Starts the lab's background processes (agents, etcd, the pod responder) so they outlive
/// <c>twill lab up</c>, and stops them again by PID, only when the PID still is the process the lab
/// started (same start time), never by name.
/// </summary>
public static class LabProcesses
{
    /// <summary>
    /// Starts <paramref name="command"/> detached from this process's pipes: stdout and stderr go to
    /// <paramref name="log"/>, stdin is /dev/null. With <paramref name="netns"/> the command runs
    /// inside that namespace (nsenter --net). The returned PID is the command's own: sh and nsenter
    /// both exec.
    /// </summary>
    public static LabProcess StartBackground(string role, string? netns, IReadOnlyList<string> command, string log,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        ProcessStartInfo psi = new("/bin/sh") { UseShellExecute = false };
        // $0/$@ carry the command verbatim: no quoting of user paths into a shell string.
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$TWILL_LAB_LOG\" 2>&1 </dev/null");
        foreach (string arg in WithNetns(netns, command))
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["TWILL_LAB_LOG"] = log;
        if (environment is not null)
        {
            foreach ((string k, string v) in environment)
            {
                psi.Environment[k] = v;
            }
        }
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {command[0]}");
        return new LabProcess
        {
            Role = role,
            Pid = p.Id,
            StartTicks = StartTicks(p.Id) ?? 0,
            Namespace = netns,
            Log = log,
        };
    }

    /// <summary>COMMAND, or <see cref="Nsenter.NetNamed"/> NETNS COMMAND with <paramref name="netns"/>.</summary>
    public static IReadOnlyList<string> WithNetns(string? netns, IEnumerable<string> command) =>
        netns is null ? [.. command] : Nsenter.NetNamed(netns, command);

    /// <summary>Whether the process the lab started is still running (not a zombie, not a reused PID).</summary>
    public static bool IsAlive(LabProcess process)
    {
        if (process.Pid <= 0)
        {
            // journalled but never started (a crash between the two writes)
            return false;
        }
        ulong? ticks = StartTicks(process.Pid);
        return ticks is not null && (process.StartTicks == 0 || ticks == process.StartTicks) && !IsZombie(process.Pid);
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>; true when it is gone.</summary>
    public static bool Stop(LabProcess process, TimeSpan grace)
    {
        if (!IsAlive(process))
        {
            return true;
        }
        _ = Signals.Send(process.Pid, Signals.Terminate);
        Stopwatch sw = Stopwatch.StartNew();
        while (sw.Elapsed < grace)
        {
            if (!IsAlive(process))
            {
                return true;
            }
            Thread.Sleep(20);
        }
        _ = Signals.Send(process.Pid, Signals.Kill);
        for (int i = 0; i < 50 && IsAlive(process); i++)
        {
            Thread.Sleep(20);
        }
        return !IsAlive(process);
    }

    /// <summary>SIGKILL to a PID found inside one of the lab's own namespaces (leftovers after a crash).</summary>
    public static void KillNow(int pid) => _ = Signals.Send(pid, Signals.Kill);

    /// <summary>Field 22 (starttime) of /proc/PID/stat; null when there is no such process.</summary>
    public static ulong? StartTicks(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // comm (field 2) may hold spaces and parentheses: fields after it start after the last ')'.
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return ulong.Parse(rest[19], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>PIDs whose network namespace is <paramref name="netnsId"/> (as /proc/PID/ns/net reads, "net:[N]").</summary>
    public static IEnumerable<int> InNamespace(string netnsId)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                || pid == Environment.ProcessId)
            {
                continue;
            }
            string? target;
            try
            {
                target = new FileInfo(Path.Combine(dir, "ns", "net")).LinkTarget;
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            if (target == netnsId)
            {
                yield return pid;
            }
        }
    }
}
