using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>
/// What kubectl does to Node objects, seen in the kernel of an agent's namespace: one agent with
/// <c>--kube-subnet-mgr</c> (node n1, podCIDR 10.244.11.0/24), its peers Node objects as flanneld
/// nodes elsewhere would write them (nobody needs to answer at their addresses: the routes, the
/// neighbour and FDB entries are what is checked).
/// </summary>
public class KubeKernelLabTests
{
    private const string VxlanConf = """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""";
    private const string Dev = "flannel.4096";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", name));

    [RootFact]
    public void Kubectl_FixturesAnnotateHostileNodesRestartAndDeleteWhileDown_ReachTheKernelExactly()
    {
        using KubeLab kube = new(VxlanConf, [["10.244.11.0/24"]]);
        AgentLab lab = kube.Lab;
        KubeControlPlane cp = kube.ControlPlane;
        Peer p1 = new("p1", "10.244.21.0/24", "192.0.2.31", "02:00:00:00:00:31");
        Peer p2 = new("p2", "10.244.22.0/24", "192.0.2.32", "02:00:00:00:00:32");
        Peer p3 = new("p3", "10.244.26.0/24", "192.0.2.36", "02:00:00:00:00:36");
        Peer p4 = new("p4", "10.244.27.0/24", "192.0.2.37", "02:00:00:00:00:37");
        Peer windows = new("win-1", "10.244.2.0/24", "192.0.2.21", "00:15:5d:4a:1c:07");

        cp.CreateNode(p1.Name, [p1.Cidr], KubeControlPlane.FlannelVxlan(p1.PublicIP, p1.Mac));
        Assert.True(AgentLab.Eventually(() => Programmed(lab, p1), Wait), "p1 programmed\n" + kube.Diagnose());

        // A Windows node's first publication (empty VtepMAC) is not programmed: p2, created after it,
        // is a marker (the watch delivers in order, so once p2 is in the kernel win-1 has been seen).
        cp.Kubectl(["create", "-f", "-"], Fixture("node.windows-vxlan.first.json")).EnsureSuccess("kubectl create win-1");
        cp.CreateNode(p2.Name, [p2.Cidr], KubeControlPlane.FlannelVxlan(p2.PublicIP, p2.Mac));
        Assert.True(AgentLab.Eventually(() => Programmed(lab, p2), Wait), "p2 programmed\n" + kube.Diagnose());
        Assert.True(Absent(lab, windows), "win-1 without its MAC must not be programmed\n" + Kernel(lab));
        // Its DR MAC arrives: the final fixture, applied whole.
        cp.Kubectl(["apply", "-f", "-"], Fixture("node.windows-vxlan.json")).EnsureSuccess("kubectl apply win-1");
        Assert.True(AgentLab.Eventually(() => Programmed(lab, windows), Wait), "win-1 programmed with its DR MAC\n" + Kernel(lab) + kube.Diagnose());

        // kubectl annotate of a peer's VtepMAC replaces its neighbour and FDB entry.
        Peer p1Moved = p1 with { Mac = "02:00:00:00:01:31" };
        cp.Kubectl("annotate", "node", p1.Name, "--overwrite",
            KubeControlPlane.Prefix + $"backend-data={{\"VNI\":4096,\"VtepMAC\":\"{p1Moved.Mac}\"}}").EnsureSuccess("kubectl annotate p1");
        Assert.True(AgentLab.Eventually(() => Programmed(lab, p1Moved) && !Fdb(lab).Contains($"{p1.Mac} {p1.PublicIP}"), Wait),
            "p1's new VtepMAC in the kernel, the old one gone\n" + Kernel(lab) + kube.Diagnose());

        // Hostile nodes: each skipped with one warning naming it, no route; p3 is the marker.
        Dictionary<string, string> badJson = KubeControlPlane.FlannelVxlan("192.0.2.41", "02:00:00:00:00:41");
        badJson[KubeControlPlane.Prefix + "backend-data"] = "{\"VNI\":4096,";
        Dictionary<string, string> badIp = KubeControlPlane.FlannelVxlan("192.0.2.42", "02:00:00:00:00:42");
        badIp[KubeControlPlane.Prefix + "public-ip"] = "192.0.2.300";
        cp.CreateNode("bad-json", ["10.244.41.0/24"], badJson);
        cp.CreateNode("bad-ip", ["10.244.42.0/24"], badIp);
        cp.CreateNode("thief", ["10.244.43.0/24"], KubeControlPlane.FlannelVxlan(p1.PublicIP, "02:00:00:00:00:43"));
        cp.CreateNode("own-ip", ["10.244.44.0/24"], KubeControlPlane.FlannelVxlan("192.0.2.11", "02:00:00:00:00:44"));
        cp.CreateNode("overlap", ["10.244.11.128/25"], KubeControlPlane.FlannelVxlan("192.0.2.45", "02:00:00:00:00:45"));
        cp.CreateNode("outside", ["10.1.0.0/24"], KubeControlPlane.FlannelVxlan("192.0.2.46", "02:00:00:00:00:46"));
        cp.CreateNode("no-cidr", [], KubeControlPlane.FlannelVxlan("192.0.2.47", "02:00:00:00:00:47"));
        cp.CreateNode(p3.Name, [p3.Cidr], KubeControlPlane.FlannelVxlan(p3.PublicIP, p3.Mac));
        Assert.True(AgentLab.Eventually(() => Programmed(lab, p3), Wait), "p3 programmed\n" + kube.Diagnose());
        string[] hostile = ["bad-json", "bad-ip", "thief", "own-ip", "overlap", "outside", "no-cidr"];
        Peer[] good = [p1Moved, p2, windows, p3];
        AssertExactly(lab, good);
        AssertOneWarningEach(lab, hostile);

        // The API server restarted: the watch resumes; a node created and one deleted meanwhile reach
        // the kernel, nothing is programmed twice and no hostile node is warned about again.
        cp.RestartApiServer();
        cp.CreateNode(p4.Name, [p4.Cidr], KubeControlPlane.FlannelVxlan(p4.PublicIP, p4.Mac));
        cp.Kubectl("delete", "node", p2.Name).EnsureSuccess("kubectl delete p2");
        good = [p1Moved, windows, p3, p4];
        Assert.True(AgentLab.Eventually(() => Programmed(lab, p4) && Absent(lab, p2), Wait), "p4 in, p2 out after the restart\n" + Kernel(lab) + kube.Diagnose());
        AssertExactly(lab, good);
        AssertOneWarningEach(lab, hostile);

        // A node deleted while the agent is down: the agent leaves the data path as it is on exit,
        // and its start removes what the deleted node had (flanneld keeps it: flannel-io/flannel#2554).
        Assert.Equal(0, lab.StopAgent(0));
        cp.Kubectl("delete", "node", windows.Name).EnsureSuccess("kubectl delete win-1");
        Assert.True(Programmed(lab, windows), "the stopped agent left win-1's entries\n" + Kernel(lab));
        lab.StartAgent(0);
        good = [p1Moved, p3, p4];
        Assert.True(AgentLab.Eventually(() => Absent(lab, windows), Wait), "win-1's route, neighbour and FDB entry gone after the start\n" + Kernel(lab) + lab.Log(0));
        Assert.True(AgentLab.Eventually(() => good.All(p => Programmed(lab, p)), Wait), "the other peers kept\n" + Kernel(lab));
        AssertExactly(lab, good);
    }

    [RootFact]
    public void Agent_WrongToken_ExitsWithTheApiServersRefusalNamed()
    {
        using KubeLab kube = new(VxlanConf, [["10.244.11.0/24"]]);
        AgentLab lab = kube.Lab;
        string bad = Path.Combine(lab.Dir, "bad-kubeconfig");
        File.WriteAllText(bad, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(kube.ControlPlane.KubeconfigPath), "token: .*", "token: not-the-token"));
        Assert.Equal(0, lab.StopAgent(0));

        lab.UseStoreArgs(["--kube-subnet-mgr", "--kubeconfig-file", bad]);
        lab.StartAgent(0);
        System.Diagnostics.Process agent = lab.Agents[0]!;

        Assert.True(agent.WaitForExit(30_000), "an agent refused by the API server must exit, not retry forever\n" + lab.Log(0));
        agent.WaitForExit(); // the log is complete once its output is drained
        Assert.NotEqual(0, agent.ExitCode);
        string log = lab.Log(0);
        Assert.Contains("401 Unauthorized", log, StringComparison.Ordinal);
        Assert.Contains($"refused the credentials from kubeconfig {bad}", log, StringComparison.Ordinal);
    }

    private sealed record Peer(string Name, string Cidr, string PublicIP, string Mac)
    {
        /// <summary>The peer's VTEP address on our side: its subnet's network address, as Flannel.</summary>
        public string Gateway => Cidr[..Cidr.IndexOf('/', StringComparison.Ordinal)];
    }

    private static bool Programmed(AgentLab lab, Peer p) =>
        lab.TwillRoutes(0).Contains(p.Cidr) && Neighbours(lab).Contains($"{p.Gateway} {p.Mac}") && Fdb(lab).Contains($"{p.Mac} {p.PublicIP}");

    private static bool Absent(AgentLab lab, Peer p) =>
        !lab.TwillRoutes(0).Contains(p.Cidr) && !Neighbours(lab).Any(n => n.StartsWith(p.Gateway + " ", StringComparison.Ordinal))
        && !Fdb(lab).Any(f => f.EndsWith(" " + p.PublicIP, StringComparison.Ordinal));

    /// <summary>The routes, neighbours and FDB entries are exactly those of <paramref name="peers"/>: no hostile node's, none twice.</summary>
    private static void AssertExactly(AgentLab lab, Peer[] peers)
    {
        Assert.Equal(peers.Select(p => p.Cidr).Order(StringComparer.Ordinal), lab.TwillRoutes(0));
        Assert.Equal(peers.Select(p => $"{p.Gateway} {p.Mac}").Order(StringComparer.Ordinal), Neighbours(lab));
        Assert.Equal(peers.Select(p => $"{p.Mac} {p.PublicIP}").Order(StringComparer.Ordinal), Fdb(lab));
    }

    private static void AssertOneWarningEach(AgentLab lab, string[] nodes)
    {
        string[] lines = lab.Log(0).Split('\n');
        foreach (string node in nodes)
        {
            string[] warnings = [.. lines.Where(l => l.Contains($"node {node} skipped", StringComparison.Ordinal))];
            Assert.True(warnings.Length == 1, $"node {node}: {warnings.Length} warnings\n" + string.Join('\n', warnings));
            Assert.Contains("warn", warnings[0], StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>"&lt;ip&gt; &lt;mac&gt;" of each permanent neighbour on the VXLAN device.</summary>
    private static string[] Neighbours(AgentLab lab) => [.. lab.Nodes[0].IpJson("neigh", "show", "dev", Dev).EnumerateArray()
        .Where(n => n.TryGetProperty("lladdr", out _))
        .Select(n => $"{n.GetProperty("dst").GetString()} {n.GetProperty("lladdr").GetString()}").Order(StringComparer.Ordinal)];

    /// <summary>"&lt;mac&gt; &lt;dst&gt;" of each FDB entry with a remote on the VXLAN device.</summary>
    private static string[] Fdb(AgentLab lab)
    {
        string json = lab.Nodes[0].Exec("bridge", "-j", "fdb", "show", "dev", Dev).EnsureSuccess("bridge fdb show").Stdout;
        using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "[]" : json);
        return [.. doc.RootElement.EnumerateArray()
            .Where(f => f.TryGetProperty("dst", out _))
            .Select(f => $"{f.GetProperty("mac").GetString()} {f.GetProperty("dst").GetString()}").Order(StringComparer.Ordinal)];
    }

    private static string Kernel(AgentLab lab) =>
        $"routes: {string.Join(", ", lab.TwillRoutes(0))}\nneighbours: {string.Join(", ", Neighbours(lab))}\nfdb: {string.Join(", ", Fdb(lab))}\n";
}
