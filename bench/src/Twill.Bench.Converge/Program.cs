using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Twill.Leases.Store;
using Twill.Netlink;
using Twill.Testing;

// bench/converge: for N peers (leases in a file store, vxlan), the time from agent start to the kernel
// holding every peer's route, beside ip -batch + bridge -batch programming the same objects; then the
// latency from one added lease to its route (p50/p99, the route seen by an rtnetlink monitor, so the
// bench does not dump thousands of routes per probe) with the agent's own per-phase timings; the
// agent's peak RSS; and pod-to-pod iperf3 throughput across two nodes over vxlan and host-gw, as a
// ratio to node-to-node throughput on the same underlay and to the same pods over a data path built
// by hand as Flannel builds it, in the same run. Everything lives in throw-away namespaces.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick");
int[] sizes = quick ? [100, 1000] : [100, 1000, 5000];
int events = quick ? 50 : 200;
// --peers N: only that size (investigating one figure); --no-throughput: skip the iperf3 part.
int peersAt = Array.IndexOf(args, "--peers");
if (peersAt >= 0 && peersAt + 1 < args.Length)
{
    sizes = [int.Parse(args[peersAt + 1], CultureInfo.InvariantCulture)];
}
bool throughput = !args.Contains("--no-throughput");
// --throughput-only: skip the convergence part (the data-path reference alone); --seconds N, --rounds N: iperf3.
bool convergence = !args.Contains("--throughput-only");
int? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : null;
}
string bin = Environment.GetEnvironmentVariable("TWILL_BIN") ?? Path.GetFullPath("out/bin/twill");
if (!File.Exists(bin))
{
    Console.Error.WriteLine($"bench/converge: {bin} missing (make build, or set TWILL_BIN)");
    return 2;
}

// A failure is caught here, so it unwinds through the finally blocks that delete namespaces and stop agents.
try
{
if (convergence)
{
    Console.WriteLine($"{"peers",8} {"twill ms",10} {"ip-batch ms",12} {"ratio",7}");
}
double lastRatio = 0, p50 = 0, p99 = 0, rssMb = 0;
string phases = "";
foreach (int n in convergence ? sizes : [])
{
    AgentRun run = RunAgent(n, n == sizes[^1] ? events : 0);
    double ipMs = RunIpBatch(n);
    lastRatio = run.ConvergeMs / ipMs;
    Console.WriteLine($"{n,8} {run.ConvergeMs,10:F1} {ipMs,12:F1} {lastRatio,7:F2}");
    if (n == sizes[^1])
    {
        (p50, p99, rssMb, phases) = (run.P50, run.P99, run.RssMb, run.Phases);
    }
}
if (convergence)
{
    Console.WriteLine($"lease added -> route programmed over {events} events: p50 {p50:F1} ms, p99 {p99:F1} ms");
    Console.WriteLine($"agent's own time per event pass (median): {phases}");
    Console.WriteLine($"agent peak RSS at {sizes[^1]} peers: {rssMb:F1} MB");
}

int seconds = Option("--seconds") ?? (quick ? 1 : 5);
int rounds = Option("--rounds") ?? (quick ? 2 : 5);
Console.WriteLine($"iperf3: {rounds} rounds of {seconds} s per path (underlay, Twill pods, hand-built pods); medians [min-max]");
TputResult? vxlan = throughput ? Throughput("vxlan", """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":1,"Port":4789}}""", seconds, rounds) : null;
TputResult? hostGw = throughput ? Throughput("host-gw", """{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}""", seconds, rounds) : null;

// --throughput-only measured no convergence: its keys are left out rather than printed as zeros.
Console.WriteLine("BENCH converge " + (convergence ? $"ratio_{sizes[^1]}={lastRatio:F2} event_p50_ms={p50:F1} event_p99_ms={p99:F1} rss_mb={rssMb:F1} " : "") +
    $"vxlan_tput_ratio={vxlan?.UnderlayRatio ?? 0:F2} hostgw_tput_ratio={hostGw?.UnderlayRatio ?? 0:F2} " +
    $"vxlan_vs_handbuilt={vxlan?.HandBuiltRatio ?? 0:F3} hostgw_vs_handbuilt={hostGw?.HandBuiltRatio ?? 0:F3}" + (convergence ? $" peers={sizes[^1]}" : ""));
return 0;
}
catch (Exception e) when (e is InvalidOperationException or IOException or JsonException)
{
    Console.Error.WriteLine($"bench/converge: {e.Message}");
    return 1;
}

AgentRun RunAgent(int n, int eventCount)
{
    string dir = Directory.CreateTempSubdirectory("twill-bench-converge-").FullName;
    using TestNetns ns = new("bconv");
    Process? agent = null;
    try
    {
        Underlay(ns);
        File.WriteAllText(Path.Combine(dir, "net-conf.json"), """{"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":4789}}""");
        FileLeaseStore store = new(Path.Combine(dir, "store"));
        for (int i = 0; i < n; i++)
        {
            Put(store, i);
        }
        using NetNs handle = NetNs.Open(ns.Path);
        using RtnlConnection rtnl = RtnlConnection.Open(handle);
        using RtnlMonitor monitor = RtnlMonitor.Open(handle, RtnlGroups.Ipv4Routes);
        using CancellationTokenSource stopMonitor = new();
        ConcurrentDictionary<IPNetwork, long> seen = new();
        Task watching = Task.Run(async () =>
        {
            await foreach (RtnlEvent e in monitor.ReadAllAsync(stopMonitor.Token))
            {
                if (e.Kind == RtnlEventKind.NewRoute && e.Route is Route r && r.Protocol == RouteProtocol.Twill)
                {
                    seen.TryAdd(r.Destination, Stopwatch.GetTimestamp());
                }
            }
        });
        Stopwatch sw = Stopwatch.StartNew();
        // Debug logs carry the agent's per-pass phase timings.
        agent = Process.Start(new ProcessStartInfo("nsenter", ["--net=" + ns.Path, bin, "agent", "--iface", "eth0", "--store", "file",
            "--store-dir", Path.Combine(dir, "store"), "--net-config-path", Path.Combine(dir, "net-conf.json"),
            "--subnet-file", Path.Combine(dir, "subnet.env"), "--state-dir", dir, "--iptables-forward-rules=false",
            "--log-level", eventCount > 0 ? "debug" : "warning"])
        { RedirectStandardError = true, UseShellExecute = false })!;
        StringBuilder errors = new();
        List<string> passes = [];
        // TWILL_BENCH_AGENT_LOG=FILE keeps the agent's whole log (memory lines, pass timings) for a closer look.
        string? logPath = Environment.GetEnvironmentVariable("TWILL_BENCH_AGENT_LOG");
        using StreamWriter? agentLog = logPath is null ? null : new StreamWriter(logPath, append: true) { AutoFlush = true };
        agent.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            if (agentLog is not null)
            {
                lock (agentLog) { agentLog.WriteLine(e.Data); }
            }
            if (e.Data.Contains("mode=Delta", StringComparison.Ordinal))
            {
                lock (passes) { passes.Add(e.Data); }
            }
            else if (!e.Data.Contains(" debug ", StringComparison.Ordinal))
            {
                lock (errors) { errors.AppendLine(e.Data); }
            }
        };
        agent.BeginErrorReadLine();
        while (Routes(rtnl) < n)
        {
            if (agent.HasExited)
            {
                throw new InvalidOperationException($"agent exited with {agent.ExitCode}: {errors}");
            }
            Thread.Sleep(2);
        }
        double converge = sw.Elapsed.TotalMilliseconds;
        List<double> latencies = [];
        lock (passes) { passes.Clear(); }
        for (int e = 0; e < eventCount; e++)
        {
            IPNetwork subnet = IPNetwork.Parse(Peer(n + e).Subnet);
            long start = Stopwatch.GetTimestamp();
            Put(store, n + e);
            long seenAt;
            Stopwatch wait = Stopwatch.StartNew();
            while (!seen.TryGetValue(subnet, out seenAt))
            {
                if (agent.HasExited || wait.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException($"route {subnet} not programmed: {errors}");
                }
                Thread.Sleep(1);
            }
            latencies.Add(Stopwatch.GetElapsedTime(start, seenAt).TotalMilliseconds);
        }
        double rss = PeakRssMb(agent.Id);
        stopMonitor.Cancel();
        latencies.Sort();
        string phaseText;
        lock (passes)
        {
            phaseText = PhaseMedians(passes);
        }
        return new AgentRun(converge, Pct(latencies, 0.50), Pct(latencies, 0.99), rss, phaseText);
    }
    finally
    {
        if (agent is not null && !agent.HasExited)
        {
            agent.Kill();
            agent.WaitForExit();
        }
        agent?.Dispose();
        Directory.Delete(dir, true);
    }
}

static string PhaseMedians(List<string> lines)
{
    if (lines.Count == 0)
    {
        return "(no delta passes logged)";
    }
    StringBuilder sb = new();
    foreach (string phase in (string[])["plan", "diff", "apply"])
    {
        Regex r = new($@"\b{phase}Ms=([0-9.]+)");
        List<double> values = [.. lines.Select(l => r.Match(l)).Where(m => m.Success).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order()];
        sb.Append($"{phase} {Pct(values, 0.5):F2} ms (p99 {Pct(values, 0.99):F2}), ");
    }
    return sb.Append($"{lines.Count} delta passes").ToString();
}

double RunIpBatch(int n)
{
    using TestNetns ns = new("bref");
    Underlay(ns);
    ns.Ip("link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "192.0.2.1", "dev", "eth0", "dstport", "4789", "nolearning");
    ns.Ip("link", "set", "flannel.1", "up");
    return IpBatchReference.ProgramVxlanPeers(ns, Enumerable.Range(0, n).Select(Peer));
}

// Two nodes on a bridge underlay (192.0.2.0/24), a pod each (a namespace on the node's cni0 bridge),
// built twice side by side: once with an agent on each node, once by hand as Flannel programs the
// kernel (no Twill process). Then `rounds` rounds of iperf3: node 1 -> node 2 on the underlay, pod 1 ->
// pod 2 through Twill's data path, pod 1 -> pod 2 through the hand-built one, in a rotating order so
// that none always runs first. Prints each median with its min-max spread and the per-round ratios.
TputResult Throughput(string backend, string netConf, int seconds, int rounds)
{
    string dir = Directory.CreateTempSubdirectory("twill-bench-tput-").FullName;
    List<IDisposable> owned = [];
    List<Process> agents = [];
    T Own<T>(T d) where T : IDisposable
    {
        owned.Add(d);
        return d;
    }
    try
    {
        File.WriteAllText(Path.Combine(dir, "net-conf.json"), netConf);
        List<TestNetns> nodes = TwoNodes("t", Own);
        List<Twill.Core.InterfaceAddress> gateways = [];
        int mtu = 0;
        for (int i = 0; i < 2; i++)
        {
            string nodeDir = Path.Combine(dir, "node" + (i + 1));
            Directory.CreateDirectory(nodeDir);
            agents.Add(Process.Start(new ProcessStartInfo("nsenter", ["--net=" + nodes[i].Path, bin, "agent", "--iface", "eth0", "--store", "file",
                "--store-dir", Path.Combine(dir, "store"), "--net-config-path", Path.Combine(dir, "net-conf.json"),
                "--subnet-file", Path.Combine(nodeDir, "subnet.env"), "--state-dir", nodeDir, "--iptables-forward-rules=false", "--log-level", "warning"])
            { UseShellExecute = false })!);
        }
        for (int i = 0; i < 2; i++)
        {
            string envFile = Path.Combine(dir, "node" + (i + 1), "subnet.env");
            Stopwatch wait = Stopwatch.StartNew();
            while (!File.Exists(envFile))
            {
                if (agents[i].HasExited || wait.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException($"{backend}: agent {i + 1} wrote no subnet.env");
                }
                Thread.Sleep(50);
            }
            Twill.Core.SubnetEnv env = Twill.Core.SubnetEnv.Read(envFile);
            gateways.Add(env.Subnet!.Value);
            mtu = env.Mtu!.Value;
        }
        List<TestNetns> pods = Pods("t", nodes, gateways, mtu, Own);

        // The same pods by hand: the addresses differ (nothing is shared between the two sets of
        // namespaces), the MTU is the agent's, every kernel object is Flannel's.
        List<TestNetns> handNodes = TwoNodes("h", Own);
        List<Twill.Core.InterfaceAddress> handGateways = [Twill.Core.InterfaceAddress.Parse("10.244.1.0/24"), Twill.Core.InterfaceAddress.Parse("10.244.2.0/24")];
        string[] vtepMacs = ["0a:00:0a:f4:01:00", "0a:00:0a:f4:02:00"];
        for (int i = 0; i < 2; i++)
        {
            TestNetns node = handNodes[i];
            int peer = 1 - i;
            string peerSubnet = handGateways[peer].Network.ToString();
            string peerNode = $"192.0.2.{11 + peer}";
            if (backend == "vxlan")
            {
                // Flannel's vxlan device: VNI, local address and underlay device, port, no learning, MTU
                // of the underlay less 50, the VTEP MAC it publishes; the subnet's .0 as a /32 on it.
                node.Ip("link", "add", "flannel.1", "mtu", mtu.ToString(CultureInfo.InvariantCulture), "address", vtepMacs[i], "type", "vxlan",
                    "id", "1", "local", $"192.0.2.{11 + i}", "dev", "eth0", "dstport", "4789", "nolearning");
                node.Ip("addr", "add", handGateways[i].Address + "/32", "dev", "flannel.1");
                node.Ip("link", "set", "flannel.1", "up");
                // Per peer: the ARP entry for its .0, the FDB entry to its public IP, the route onlink.
                node.Ip("neigh", "replace", handGateways[peer].Address.ToString(), "lladdr", vtepMacs[peer], "dev", "flannel.1", "nud", "permanent");
                node.Exec("bridge", "fdb", "replace", vtepMacs[peer], "dev", "flannel.1", "dst", peerNode, "self", "permanent").EnsureSuccess("bridge fdb");
                node.Ip("route", "replace", peerSubnet, "via", handGateways[peer].Address.ToString(), "dev", "flannel.1", "onlink");
            }
            else
            {
                node.Ip("route", "replace", peerSubnet, "via", peerNode, "dev", "eth0");
            }
        }
        // cni0 holds the subnet's .1, as the bridge plugin gives it.
        List<Twill.Core.InterfaceAddress> handBridges = [.. handGateways.Select(g => Twill.Core.InterfaceAddress.Parse(Host(g, 1) + "/" + g.PrefixLength))];
        List<TestNetns> handPods = Pods("h", handNodes, handBridges, mtu, Own);

        string pod2 = Address(pods[1]), handPod2 = Address(handPods[1]);
        WaitPing(backend + " (twill)", pods[0], pod2);
        WaitPing(backend + " (hand-built)", handPods[0], handPod2);
        Func<double>[] runs =
        [
            () => Iperf(nodes[1], nodes[0], "192.0.2.12", seconds),
            () => Iperf(pods[1], pods[0], pod2, seconds),
            () => Iperf(handPods[1], handPods[0], handPod2, seconds),
        ];
        List<double>[] bps = [[], [], []];
        for (int round = 0; round < rounds; round++)
        {
            for (int k = 0; k < runs.Length; k++)
            {
                int which = (round + k) % runs.Length;
                bps[which].Add(runs[which]());
            }
        }
        TputResult result = new(backend, mtu, bps[0], bps[1], bps[2]);
        Console.WriteLine(result.Describe());
        return result;
    }
    finally
    {
        foreach (Process a in agents)
        {
            if (!a.HasExited)
            {
                a.Kill();
                a.WaitForExit();
            }
            a.Dispose();
        }
        for (int i = owned.Count - 1; i >= 0; i--)
        {
            owned[i].Dispose();
        }
        Directory.Delete(dir, true);
    }
}

// A switch namespace with a bridge and two nodes on it, 192.0.2.11 and .12, forwarding.
static List<TestNetns> TwoNodes(string tag, Func<TestNetns, TestNetns> own)
{
    TestNetns sw = own(new TestNetns(tag + "sw"));
    sw.Ip("link", "add", "br0", "type", "bridge");
    sw.Ip("link", "set", "br0", "up");
    List<TestNetns> nodes = [];
    for (int i = 1; i <= 2; i++)
    {
        TestNetns node = own(new TestNetns(tag + "n" + i));
        sw.Ip("link", "add", "p" + i, "type", "veth", "peer", "name", "eth0", "netns", node.Name);
        sw.Ip("link", "set", "p" + i, "master", "br0", "up");
        node.Ip("addr", "add", $"192.0.2.{10 + i}/24", "dev", "eth0");
        node.Ip("link", "set", "eth0", "up");
        node.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1").EnsureSuccess("sysctl ip_forward");
        nodes.Add(node);
    }
    return nodes;
}

// On each node a cni0 bridge holding `bridges[i]` and a pod on it (.2 of the subnet, default via cni0).
static List<TestNetns> Pods(string tag, List<TestNetns> nodes, List<Twill.Core.InterfaceAddress> bridges, int mtu, Func<TestNetns, TestNetns> own)
{
    string m = mtu.ToString(CultureInfo.InvariantCulture);
    List<TestNetns> pods = [];
    for (int i = 0; i < nodes.Count; i++)
    {
        TestNetns node = nodes[i];
        Twill.Core.InterfaceAddress gw = bridges[i];
        node.Ip("link", "add", "cni0", "mtu", m, "type", "bridge");
        node.Ip("addr", "add", gw.ToString(), "dev", "cni0");
        node.Ip("link", "set", "cni0", "up");
        TestNetns pod = own(new TestNetns(tag + "pod" + (i + 1)));
        node.Ip("link", "add", "vp", "mtu", m, "type", "veth", "peer", "name", "eth0", "netns", pod.Name);
        node.Ip("link", "set", "vp", "master", "cni0", "up");
        pod.Ip("addr", "add", $"{Host(gw, 2)}/{gw.PrefixLength}", "dev", "eth0");
        pod.Ip("link", "set", "eth0", "up");
        pod.Ip("route", "add", "default", "via", gw.Address.ToString());
        pods.Add(pod);
    }
    return pods;
}

static IPAddress Host(Twill.Core.InterfaceAddress a, byte last)
{
    byte[] b = a.Address.GetAddressBytes();
    b[3] = last;
    return new IPAddress(b);
}

static string Address(TestNetns pod) =>
    pod.IpJson("-4", "addr", "show", "dev", "eth0")[0].GetProperty("addr_info")[0].GetProperty("local").GetString()!;

static void WaitPing(string what, TestNetns from, string to)
{
    Stopwatch ready = Stopwatch.StartNew();
    while (from.Exec("ping", "-c", "1", "-W", "1", to).ExitCode != 0)
    {
        if (ready.Elapsed > TimeSpan.FromSeconds(60))
        {
            throw new InvalidOperationException($"{what}: pod 1 cannot reach pod 2 ({to})");
        }
    }
}

// iperf3 from `client` to `server` (listening on `address`): received bits per second.
static double Iperf(TestNetns server, TestNetns client, string address, int seconds)
{
    using Process listener = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", server.Name, "iperf3", "-s", "-1", "-B", address])
    {
        UseShellExecute = false,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    })!;
    try
    {
        Tool.Result result = new(1, "", "not run");
        for (int attempt = 0; attempt < 50; attempt++)
        {
            // The server needs a moment to listen; a refused connection is retried.
            result = client.Exec("iperf3", "-c", address, "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J");
            // iperf3 -J may exit 0 with only an "error" in its JSON: look at the text, not just the code.
            if (!result.Stdout.Contains("unable to connect", StringComparison.Ordinal))
            {
                break;
            }
            Thread.Sleep(100);
        }
        if (result.ExitCode != 0)
        {
            string said = listener.HasExited ? listener.StandardOutput.ReadToEnd() + listener.StandardError.ReadToEnd() : "(server still running)";
            throw new InvalidOperationException($"iperf3 to {address} failed: {result.Stdout}{result.Stderr}; server: {said}");
        }
        using JsonDocument doc = JsonDocument.Parse(result.Stdout);
        if (!doc.RootElement.TryGetProperty("end", out JsonElement end) || !end.TryGetProperty("sum_received", out JsonElement received))
        {
            throw new InvalidOperationException($"iperf3 to {address} reported no result: {result.Stdout}{result.Stderr}");
        }
        return received.GetProperty("bits_per_second").GetDouble();
    }
    finally
    {
        if (!listener.HasExited)
        {
            listener.Kill();
        }
        listener.WaitForExit();
    }
}

static void Underlay(TestNetns ns)
{
    ns.Ip("link", "add", "eth0", "type", "veth", "peer", "name", "sw0");
    ns.Ip("addr", "add", "192.0.2.1/24", "dev", "eth0");
    ns.Ip("link", "set", "sw0", "up");
    ns.Ip("link", "set", "eth0", "up");
}

static (string Subnet, string Gateway, string Mac, string PublicIP) Peer(int i)
{
    int third = (i % 250) + 1, second = (i / 250) + 1;
    string[] pools = ["192.0.2.", "198.51.100.", "203.0.113."];
    string pub = pools[i % 3] + ((i / 3 % 250) + 2).ToString(CultureInfo.InvariantCulture);
    string mac = $"0a:{(i >> 16) & 0xff:x2}:{(i >> 8) & 0xff:x2}:{i & 0xff:x2}:00:01";
    return ($"10.{second}.{third}.0/24", $"10.{second}.{third}.0", mac, pub);
}

static void Put(FileLeaseStore store, int i)
{
    (string subnet, _, string mac, string pub) = Peer(i);
    string value = "{\"PublicIP\":\"" + pub + "\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"" + mac + "\"}}";
    store.TryCreateAsync(subnet.Replace('/', '-'), value, TimeSpan.FromHours(1), CancellationToken.None).GetAwaiter().GetResult();
}

static int Routes(RtnlConnection rtnl) => rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main, RouteProtocol.Twill).Count;

static double PeakRssMb(int pid)
{
    string line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) ?? "VmHWM: 0 kB";
    return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
}

static double Pct(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

internal sealed record AgentRun(double ConvergeMs, double P50, double P99, double RssMb, string Phases);

/// <summary>One backend's iperf3 rounds: bits per second on the underlay, through Twill's pods and through the hand-built pods.</summary>
internal sealed record TputResult(string Backend, int Mtu, List<double> Underlay, List<double> Twill, List<double> HandBuilt)
{
    /// <summary>Pod-to-pod through Twill over node-to-node: what any pod network pays plus what Twill adds.</summary>
    public double UnderlayRatio => Median(Twill) / Median(Underlay);

    /// <summary>Twill over the same topology built by hand: what Twill adds (1.0 = nothing).</summary>
    public double HandBuiltRatio => Median(Twill) / Median(HandBuilt);

    public string Describe()
    {
        List<double> perRound = [.. Twill.Zip(HandBuilt, (t, h) => t / h)];
        return $"{Backend} (MTU {Mtu}): underlay {Gbit(Underlay)}, twill pods {Gbit(Twill)}, hand-built pods {Gbit(HandBuilt)} Gbit/s; " +
            $"twill/underlay {UnderlayRatio:F2}, hand-built/underlay {Median(HandBuilt) / Median(Underlay):F2}, " +
            $"twill/hand-built {HandBuiltRatio:F3} (per round {perRound.Min():F3}-{perRound.Max():F3}: {string.Join(" ", perRound.Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))})";
    }

    private static string Gbit(List<double> bps) =>
        string.Create(CultureInfo.InvariantCulture, $"{Median(bps) / 1e9:F2} [{bps.Min() / 1e9:F2}-{bps.Max() / 1e9:F2}]");

    private static double Median(List<double> values)
    {
        List<double> v = [.. values.Order()];
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[(v.Count / 2) - 1] + v[v.Count / 2]) / 2;
    }
}
