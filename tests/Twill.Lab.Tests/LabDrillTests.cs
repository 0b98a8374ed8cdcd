using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Twill.Testing;

namespace Twill.Lab.Tests;

/// <summary>One 3-node vxlan lab shared by the drills that leave it healthy again.</summary>
public sealed class DrillLab : IDisposable
{
    public DrillLab()
    {
        if (Privileges.IsRoot)
        {
            LabHarness.Up(Name, "--nodes", "3", "--backend", "vxlan", "--underlay", "l2");
        }
    }

    public string Name { get; } = LabHarness.NewName();

    /// <summary>Agents a drill relaunched itself (the lab did not record them).</summary>
    public List<int> Relaunched { get; } = [];

    public void Dispose()
    {
        if (Privileges.IsRoot)
        {
            LabHarness.Run("lab", "down", "--name", Name);
            // down stops every process inside the lab's namespaces; stop ours by PID in case it did not.
            foreach (int pid in Relaunched.Where(p => File.Exists($"/proc/{p}/cmdline")
                && File.ReadAllText($"/proc/{p}/cmdline").Contains($"/run/twill/lab/{Name}/", StringComparison.Ordinal)))
            {
                Tool.Run("kill", "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }
}

/// <summary>
/// Failure drills on a running lab: the kernel state is disturbed by hand or an agent dies, and the
/// pod network must heal (or keep working) on its own.
/// </summary>
public sealed class LabDrillTests(DrillLab lab) : IClassFixture<DrillLab>
{
    private const string Healthy = "30/30 pod pairs reachable, 6/6 hostPorts, 6/6 pods reach a foreign node";

    [RootFact]
    public void Agent_RouteDeletedByHand_BackWithinTheResyncPeriod()
    {
        LabState state = LabHarness.State(lab.Name);
        string subnet = LabHarness.PodNetwork(LabHarness.Node(state, "node2"));
        Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(5), () => LabHarness.RouteTo(lab.Name, "node1", subnet) is not null),
            $"node1 never had a route to {subnet}");

        Tool.Result del = LabHarness.Exec(lab.Name, "node1", "ip", "route", "del", subnet);
        Assert.True(del.ExitCode == 0, $"ip route del {subnet} failed: {del.Stderr}");
        Assert.Null(LabHarness.RouteTo(lab.Name, "node1", subnet));

        // The resync period is 10 s; allow a little for the loop's wake-up.
        Stopwatch sw = Stopwatch.StartNew();
        Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(13), () => LabHarness.RouteTo(lab.Name, "node1", subnet) is not null),
            $"node1's route to {subnet} was not restored within 13 s");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(13));
        LabHarness.Check(lab.Name, Healthy);
    }

    [RootFact]
    public void Agent_KilledDuringTraffic_DataPathStaysAndRestartHeals()
    {
        LabState state = LabHarness.State(lab.Name);
        LabProcess agent = state.Processes.Single(p => p.Role == "agent node1");
        string[] argv = File.ReadAllText($"/proc/{agent.Pid}/cmdline").TrimEnd('\0').Split('\0');
        Assert.Contains("agent", argv);
        Assert.Contains(argv, a => a.Contains($"/run/twill/lab/{lab.Name}/node1/", StringComparison.Ordinal));
        string target = state.Pods.First(p => p.Node == "node2").Address!.Split('/')[0];

        // Pods keep talking across the kill: 20 pings over ~4 s, the agent dies after ~1 s.
        Task<Tool.Result> traffic = Task.Run(() => LabHarness.Exec(lab.Name, "n1p1", "ping", "-c", "20", "-i", "0.2", "-W", "1", target));
        Thread.Sleep(1000);
        Tool.Check("kill", "-KILL", agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(5), () => !Directory.Exists($"/proc/{agent.Pid}")), "the agent did not die");

        Tool.Result during = traffic.GetAwaiter().GetResult();
        Assert.True(during.ExitCode == 0, $"pod traffic across the agent's death failed:\n{during.Stdout}{during.Stderr}");
        Assert.Contains(" 0% packet loss", during.Stdout, StringComparison.Ordinal);
        // And with the agent gone for good, new traffic still flows (the data path was left in place).
        Tool.Result after = LabHarness.Exec(lab.Name, "n1p1", "ping", "-c", "2", "-W", "1", target);
        Assert.True(after.ExitCode == 0, $"pod traffic with node1's agent dead failed:\n{after.Stdout}{after.Stderr}");

        // The lab has no restart command: relaunch the agent with the exact command line it had.
        // nsenter execs the agent, so /proc shows the agent's own argv: enter node1's namespace again
        // (never run it in the host's).
        string[] inNode = Path.GetFileName(argv[0]) == "nsenter" ? argv : ["nsenter", $"--net=/var/run/netns/twl-{lab.Name}-node1", "--", .. argv];
        int restarted = Relaunch(inNode, $"/run/twill/lab/{lab.Name}/node1/agent.log");
        // The restarted agent stays: the lab must be healthy for the next drill; the fixture stops it.
        lab.Relaunched.Add(restarted);
        Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(10), () =>
            LabHarness.Exec(lab.Name, "node1", "curl", "-sf", "http://127.0.0.1:9471/healthz").ExitCode == 0),
            "the restarted agent never became healthy");
        LabHarness.Check(lab.Name, Healthy);
        Assert.True(Directory.Exists($"/proc/{restarted}"), "the restarted agent exited");
    }

    private static int Relaunch(string[] argv, string log)
    {
        ProcessStartInfo psi = new("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"exec \"$@\" >>'{log}' 2>&1");
        psi.ArgumentList.Add("sh");
        foreach (string a in argv)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException("could not relaunch the agent");
        return p.Id;
    }
}

/// <summary>A node leaves: its agent stops and its lease is deleted; every other node forgets it.</summary>
public sealed class LabNodeRemovalTests
{
    [RootFact]
    public void Agent_NodeRemoved_PeersDropItsRoutesNeighboursAndFdb()
    {
        string name = LabHarness.NewName();
        try
        {
            LabHarness.Up(name, "--nodes", "3", "--backend", "vxlan", "--underlay", "l2");
            LabState state = LabHarness.State(name);
            LabNodeState node3 = LabHarness.Node(state, "node3");
            string vtep = LabHarness.PodNetwork(node3).Split('/')[0];
            string[] others = ["node1", "node2"];
            foreach (string node in others)
            {
                Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(5), () => Traces(name, node, node3) == (true, true, true)),
                    $"{node} lacks node3's route, neighbour or FDB entry:\n{Dump(name, node)}");
            }

            LabProcess agent = state.Processes.Single(p => p.Role == "agent node3");
            Tool.Check("kill", "-KILL", agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(5), () => !Directory.Exists($"/proc/{agent.Pid}")), "node3's agent did not die");

            string leases = Path.Combine(new LabPaths(name).StoreDir, "leases");
            Regex ownAddress = new($@"{Regex.Escape(node3.Address)}(?!\d)");
            string[] own = [.. Directory.GetFiles(leases, "*.json").Where(f => ownAddress.IsMatch(File.ReadAllText(f)))];
            Assert.True(own.Length == 1, $"expected exactly one lease of node3 ({node3.Address}) in {leases}, found {own.Length}");
            File.Delete(own[0]);

            foreach (string node in others)
            {
                Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(12), () => Traces(name, node, node3) == (false, false, false)),
                    $"{node} still has node3's route, neighbour or FDB entry ({LabHarness.PodNetwork(node3)}, {vtep}, {node3.Address}):\n{Dump(name, node)}");
            }
            // The survivors still reach each other.
            string target = state.Pods.First(p => p.Node == "node2").Address!.Split('/')[0];
            Tool.Result ping = LabHarness.Exec(name, "n1p1", "ping", "-c", "2", "-W", "1", target);
            Assert.True(ping.ExitCode == 0, $"node1 to node2 pods after node3 left:\n{ping.Stdout}{ping.Stderr}");
        }
        finally
        {
            LabHarness.Down(name);
        }
        LabHarness.AssertNothingLeft(name);
    }

    /// <summary>Any trace of the peer on the node: its subnet route, its VTEP neighbour, its FDB entry.</summary>
    private static (bool Route, bool Neighbour, bool Fdb) Traces(string name, string node, LabNodeState peer)
    {
        string vtep = LabHarness.PodNetwork(peer).Split('/')[0];
        bool route = LabHarness.RouteTo(name, node, LabHarness.PodNetwork(peer)) is not null;
        bool neigh = Json(name, node, "ip", "-j", "-4", "neigh", "show", "dev", "flannel.4096").Any(e => LabHarness.Text(e, "dst") == vtep);
        bool fdb = Json(name, node, "bridge", "-j", "fdb", "show", "dev", "flannel.4096").Any(e => LabHarness.Text(e, "dst") == peer.Address);
        return (route, neigh, fdb);
    }

    private static List<JsonElement> Json(string name, string node, params string[] command)
    {
        Tool.Result r = LabHarness.Exec(name, node, command);
        Assert.True(r.ExitCode == 0, $"{string.Join(' ', command)} in {node} failed: {r.Stderr}");
        if (string.IsNullOrWhiteSpace(r.Stdout))
        {
            return [];
        }
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        return [.. doc.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private static string Dump(string name, string node) =>
        string.Concat(LabHarness.Exec(name, node, "ip", "route").Stdout, LabHarness.Exec(name, node, "ip", "neigh", "show", "dev", "flannel.4096").Stdout,
            LabHarness.Exec(name, node, "bridge", "fdb", "show", "dev", "flannel.4096").Stdout);
}
