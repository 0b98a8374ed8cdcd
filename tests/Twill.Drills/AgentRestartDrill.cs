using System.Diagnostics;
using Twill.Lab;
using Twill.Os;

namespace Twill.Drills;

/// <summary>How the agent goes away in <see cref="AgentRestartDrill"/>.</summary>
public enum AgentExit
{
    /// <summary>SIGKILL: no shutdown code runs at all.</summary>
    Kill9,

    /// <summary>SIGTERM, as the kubelet stops a pod; started again with the same binary.</summary>
    Terminate,

    /// <summary>SIGTERM, then started from another copy of the binary (a DaemonSet rolling to a new image).</summary>
    Upgrade,
}

/// <summary>
/// Drill 1: node1's agent dies (or is upgraded) while a pod on node1 pings a pod on node2 every
/// 20 ms; the agent is started again. Nothing the agent installed may be taken down on the way: target 0 lost.
/// </summary>
public static class AgentRestartDrill
{
    /// <param name="traffic">How long the ping runs; the agent dies a second in and is started again right after.</param>
    public static DrillResult Run(DrillLab lab, AgentExit exit, TimeSpan traffic)
    {
        string drill = exit switch
        {
            AgentExit.Kill9 => "agent kill -9, restarted",
            AgentExit.Terminate => "agent SIGTERM, restarted",
            _ => "agent upgrade (binary swapped)",
        };
        const string target = "0 lost (ping 20 ms)";
        try
        {
            LabPodState from = lab.PodOn("node1");
            LabPodState to = lab.PodOn("node2");
            LabProcess agent = lab.Process("agent node1");
            string[] argv = DrillLab.Argv(agent);
            Dictionary<string, string> env = DrillLab.KeptEnvironment(agent);
            if (exit == AgentExit.Upgrade)
            {
                // A new file (new inode) at a new path, as a new image's binary is.
                string next = Path.Combine(lab.Paths.Root, "upgrade", "twill");
                Directory.CreateDirectory(Path.GetDirectoryName(next)!);
                File.Copy(argv[0], next, overwrite: true);
                argv[0] = next;
            }

            using PodPing ping = PodPing.Start(from.Namespace, DrillLab.Address(to), traffic);
            Thread.Sleep(1000);
            Stopwatch down = Stopwatch.StartNew();
            bool gone = DrillLab.Stop(agent, exit == AgentExit.Kill9 ? Signals.Kill : Signals.Terminate, TimeSpan.FromSeconds(15));
            TimeSpan stopped = down.Elapsed;
            if (!gone)
            {
                return new DrillResult(drill, target, "the agent did not exit within 15 s", false);
            }
            LabProcess started = lab.Restart("agent node1", argv, env);
            Stopwatch up = Stopwatch.StartNew();
            bool ready = DrillLab.Eventually(TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100), () => lab.AgentReady("node1"));
            TimeSpan readyAfter = up.Elapsed;
            PingResult result = ping.Wait();
            bool running = LabProcesses.IsAlive(started);
            bool ran = exit != AgentExit.Upgrade || DrillLab.Argv(started)[0] == argv[0];
            string measured = $"{result}; exit took {DrillLab.Seconds(stopped)}, ready again {DrillLab.Seconds(readyAfter)} after restart";
            if (!ready || !running || !ran)
            {
                measured += !running ? "; the restarted agent exited" : !ready ? "; the restarted agent never became ready" : "; not the new binary";
            }
            return new DrillResult(drill, target, measured, result.Lost == 0 && ready && running && ran);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            return DrillResult.Failed(drill, target, e);
        }
    }
}
