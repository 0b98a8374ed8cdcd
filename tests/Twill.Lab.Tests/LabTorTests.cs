using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Twill.Testing;

namespace Twill.Lab.Tests;

/// <summary>
/// <c>twill lab up --topology tor</c>: nodes on two racks (no L2 path between them) whose FRR ToR is
/// their gateway; pods reach each other only through the ToR's table. One lab per mode, each test a
/// sequence of assertions on it (economical: one up and one down each).
/// </summary>
public sealed class LabTorTests
{
    private const string Healthy = "30/30 pod pairs reachable, 6/6 hostPorts, 6/6 pods reach a foreign node";

    [FrrFact]
    public void TorBgp_CheckPasses_TorLearnsEverySubnet_GracefulRestartKeepsTrafficAcrossAKill_CleanStopWithdrawsAtOnce()
    {
        string name = LabHarness.NewName();
        List<int> relaunched = [];
        try
        {
            LabHarness.Up(name, "--topology", "tor", "--nodes", "3");
            LabHarness.Check(name, Healthy);
            LabState state = LabHarness.State(name);
            Assert.Equal("bgp", state.TorMode);
            AssertNodesCarryNoPeerRoutes(name, state);
            foreach (LabNodeState node in state.Nodes)
            {
                Assert.Equal("bgp", TorRoute(name, node)?.Protocol);
            }

            // status shows the ToR's own view: every node an established session, every route.
            Tool.Result status = LabHarness.Run("lab", "status", "--name", name);
            Assert.True(status.ExitCode == 0, $"lab status failed:\n{status.Stdout}{status.Stderr}");
            Assert.Contains("BGP router identifier 203.0.113.1, local AS number 65000", status.Stdout, StringComparison.Ordinal);
            foreach (LabNodeState node in state.Nodes)
            {
                Assert.Matches($@"\*{node.Address.Replace(".", "\\.", StringComparison.Ordinal)}\s+4\s+64512\s", status.Stdout);
                Assert.Contains(LabHarness.PodNetwork(node), status.Stdout, StringComparison.Ordinal);
            }

            // kill -9 of node2's agent (rack 2): graceful restart keeps its route at the ToR (stale)
            // and a pod on rack 1 keeps reaching node2's pod the whole time, until the agent is back.
            LabNodeState node2 = LabHarness.Node(state, "node2");
            LabProcess agent2 = state.Processes.Single(p => p.Role == "agent node2");
            string[] argv = File.ReadAllText($"/proc/{agent2.Pid}/cmdline").TrimEnd('\0').Split('\0');
            string target = state.Pods.First(p => p.Node == "node2").Address!.Split('/')[0];
            Task<Tool.Result> traffic = Task.Run(() => LabHarness.Exec(name, "n1p1", "ping", "-c", "25", "-i", "0.2", "-W", "1", target));
            Thread.Sleep(1000);
            Tool.Check("kill", "-KILL", agent2.Pid.ToString(CultureInfo.InvariantCulture));
            Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(5), () => !Directory.Exists($"/proc/{agent2.Pid}")), "node2's agent did not die");
            Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(10), () => !Established(name, node2)),
                $"the ToR never saw node2's session go down:\n{Vtysh(name, "show bgp summary")}");
            Assert.Equal(node2.Address, TorRoute(name, node2)?.Via);
            Assert.Contains("stale", Vtysh(name, $"show bgp ipv4 unicast {LabHarness.PodNetwork(node2)}"), StringComparison.OrdinalIgnoreCase);
            Tool.Result during = traffic.GetAwaiter().GetResult();
            Assert.True(during.ExitCode == 0, $"pod traffic across the agent's death failed:\n{during.Stdout}{during.Stderr}");
            Assert.Contains(" 0% packet loss", during.Stdout, StringComparison.Ordinal);
            Assert.Equal(node2.Address, TorRoute(name, node2)?.Via);

            // The agent comes back (the same command line, in node2's namespace): its session is
            // established again and the route is fresh (End-of-RIB), never having left the ToR.
            string[] inNode = Path.GetFileName(argv[0]) == "nsenter" ? argv : ["nsenter", $"--net=/var/run/netns/twl-{name}-node2", "--", .. argv];
            relaunched.Add(Relaunch(inNode, $"/run/twill/lab/{name}/node2/agent.log"));
            Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(20), () => Established(name, node2)
                    && !Vtysh(name, $"show bgp ipv4 unicast {LabHarness.PodNetwork(node2)}").Contains("stale", StringComparison.OrdinalIgnoreCase)),
                $"node2's restarted agent did not take its route over:\n{Vtysh(name, "show bgp summary")}");
            Assert.Equal(node2.Address, TorRoute(name, node2)?.Via);

            // A clean stop (SIGTERM) of node3's agent sends a Cease: the ToR drops its route at once.
            LabNodeState node3 = LabHarness.Node(state, "node3");
            LabProcess agent3 = state.Processes.Single(p => p.Role == "agent node3");
            Stopwatch clock = Stopwatch.StartNew();
            Tool.Check("kill", "-TERM", agent3.Pid.ToString(CultureInfo.InvariantCulture));
            Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(3), () => TorRoute(name, node3) is null),
                $"the ToR still routes node3's {LabHarness.PodNetwork(node3)} 3 s after its agent stopped cleanly");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3));
            Assert.Equal(node2.Address, TorRoute(name, node2)?.Via);
        }
        finally
        {
            LabHarness.Down(name);
            foreach (int pid in relaunched.Where(p => Directory.Exists($"/proc/{p}")))
            {
                Tool.Run("kill", "-TERM", pid.ToString(CultureInfo.InvariantCulture));
            }
        }
        LabHarness.AssertNothingLeft(name);
    }

    [FrrFact]
    public void TorStatic_EtcdStore_TwillTorRoutesTypedIntoTheTor_CheckPasses_NoBgpAnywhere_DownLeavesNothing()
    {
        string name = LabHarness.NewName();
        List<LabProcess> frr = [];
        try
        {
            LabHarness.Up(name, "--topology", "tor", "--tor-mode", "static", "--store", "etcd", "--nodes", "3");
            LabHarness.Check(name, Healthy);
            LabState state = LabHarness.State(name);
            Assert.Equal("static", state.TorMode);
            frr.AddRange(state.Processes.Where(p => p.Role.StartsWith("tor ", StringComparison.Ordinal)));
            Assert.Equal(3, frr.Count);
            AssertNodesCarryNoPeerRoutes(name, state);

            // What `twill tor routes --format frr` printed from etcd's leases, one route per node,
            // is what the ToR's kernel routes by (zebra's static routes).
            string typed = File.ReadAllText($"/run/twill/lab/{name}/tor/static-routes.frr");
            Assert.Equal(
                state.Nodes.Select(n => $"ip route {LabHarness.PodNetwork(n)} {n.Address}").Order(StringComparer.Ordinal),
                typed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
            foreach (LabNodeState node in state.Nodes)
            {
                Assert.Equal(("static", node.Address), (TorRoute(name, node)?.Protocol, TorRoute(name, node)?.Via));
            }
            // Static mode announces nothing: the ToR has no BGP neighbour at all.
            Assert.Contains("No BGP neighbors found", Vtysh(name, "show bgp summary"), StringComparison.Ordinal);
        }
        finally
        {
            LabHarness.Down(name);
        }
        LabHarness.AssertNothingLeft(name);
        // Gone, a zombie waiting for its new parent, or a PID reused since (another start time).
        Assert.All(frr, p => Assert.False(LabProcesses.IsAlive(p), $"FRR's {p.Role} (PID {p.Pid}) still runs after down"));
        Assert.All(frr, p => Assert.False(Directory.Exists($"/var/tmp/frr/{p.Role[4..]}.{p.Pid}"), $"FRR's log buffer of {p.Role} is left in /var/tmp/frr"));
    }

    [FrrFact]
    public void TorUp_KilledHalfWay_DownStillRemovesFrrTheAgentsTheNamespacesAndTheFiles()
    {
        string name = LabHarness.NewName();
        string stateFile = new LabPaths(name).StateFile;
        ProcessStartInfo psi = new(LabHarness.Twill) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "lab", "up", "--name", name, "--topology", "tor", "--nodes", "2", "--pods-per-node", "1" })
        {
            psi.ArgumentList.Add(a);
        }
        string[] cni = Environment.GetEnvironmentVariable("TWILL_LAB_CNI") is string c ? ["--cni-path", c] : [];
        foreach (string a in cni)
        {
            psi.ArgumentList.Add(a);
        }
        List<LabProcess> started = [];
        try
        {
            using (Process up = Process.Start(psi)!)
            {
                // Killed once FRR runs and the agents are being started: the journal is all down has.
                Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(60), () =>
                        up.HasExited || (Load(stateFile) is { } s && s.Processes.Count(p => p.Pid > 0) >= 4)),
                    "lab up never got as far as starting FRR and an agent");
                up.Kill();
                up.WaitForExit();
            }
            LabState state = Load(stateFile) ?? throw new Xunit.Sdk.XunitException("no state file after the killed up");
            started.AddRange(state.Processes.Where(p => p.Pid > 0));
            Assert.Equal(3, started.Count(p => p.Role.StartsWith("tor ", StringComparison.Ordinal)));
            Assert.Contains(started, p => p.Role.StartsWith("agent ", StringComparison.Ordinal));
        }
        finally
        {
            LabHarness.Down(name);
        }
        LabHarness.AssertNothingLeft(name);
        Assert.All(started, p => Assert.False(LabProcesses.IsAlive(p), $"{p.Role} (PID {p.Pid}) still runs after down"));
    }

    private static LabState? Load(string stateFile)
    {
        try
        {
            return LabState.Load(stateFile);
        }
        catch (LabConfigException)
        {
            return null;
        }
    }

    /// <summary>The nodes route nothing of the pod network beyond their own bridge: no peer routes, no overlay device.</summary>
    private static void AssertNodesCarryNoPeerRoutes(string name, LabState state)
    {
        foreach (LabNodeState node in state.Nodes)
        {
            List<JsonElement> pod = [.. LabHarness.Routes(name, node.Name).Where(r => LabHarness.Text(r, "dst").StartsWith("10.244.", StringComparison.Ordinal))];
            JsonElement own = Assert.Single(pod);
            Assert.Equal((LabHarness.PodNetwork(node), "cni0"), (LabHarness.Text(own, "dst"), LabHarness.Text(own, "dev")));
            Assert.DoesNotContain("vxlan", LabHarness.Exec(name, node.Name, "ip", "-d", "link", "show").Stdout, StringComparison.Ordinal);
        }
    }

    private sealed record KernelRoute(string Via, string Protocol);

    /// <summary>The ToR kernel's route to the node's pod subnet, or null.</summary>
    private static KernelRoute? TorRoute(string name, LabNodeState node)
    {
        Tool.Result r = LabHarness.Exec(name, "tor", "ip", "-j", "-4", "route", "show", LabHarness.PodNetwork(node));
        Assert.True(r.ExitCode == 0, $"ip route in the ToR failed: {r.Stderr}");
        using JsonDocument doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(r.Stdout) ? "[]" : r.Stdout);
        return doc.RootElement.EnumerateArray().Select(e => new KernelRoute(LabHarness.Text(e, "gateway"), LabHarness.Text(e, "protocol"))).FirstOrDefault();
    }

    private static string Vtysh(string name, string command) =>
        Tool.Run("vtysh", ["--vty_socket", $"/run/twill/lab/{name}/tor/run", "-c", command], stdin: null, TimeSpan.FromSeconds(20)).Stdout;

    /// <summary>Whether the ToR's session with the node is up: its summary line ends in a prefix count, not a state name.</summary>
    private static bool Established(string name, LabNodeState node) =>
        Vtysh(name, "show bgp summary").Split('\n')
            .Any(l => l.StartsWith($"*{node.Address} ", StringComparison.Ordinal)
                      && int.TryParse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^3], out _));

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
