using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Twill.Leases.Store;
using Twill.Netlink;
using Twill.Testing;

// bench/converge: for N peers (leases in a file store, vxlan), the time from agent start to the kernel
// holding every peer's route, beside ip -batch + bridge -batch programming the same objects; then the
// latency from one added lease to its route (p50/p99); the agent's peak RSS. Everything lives in
// throw-away namespaces. Throughput (iperf3 pod-to-pod vs node-to-node) is not measured here yet.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick");
int[] sizes = quick ? [100, 1000] : [100, 1000, 5000];
int events = quick ? 50 : 200;
string bin = Environment.GetEnvironmentVariable("TWILL_BIN") ?? Path.GetFullPath("out/bin/twill");
if (!File.Exists(bin))
{
    Console.Error.WriteLine($"bench/converge: {bin} missing (make build, or set TWILL_BIN)");
    return 2;
}

Console.WriteLine($"{"peers",8} {"twill ms",10} {"ip-batch ms",12} {"ratio",7}");
double lastRatio = 0, p50 = 0, p99 = 0, rssMb = 0;
foreach (int n in sizes)
{
    (double twillMs, double p50n, double p99n, double rss) = RunAgent(n, n == sizes[^1] ? events : 0);
    double ipMs = RunIpBatch(n);
    lastRatio = twillMs / ipMs;
    Console.WriteLine($"{n,8} {twillMs,10:F1} {ipMs,12:F1} {lastRatio,7:F2}");
    if (n == sizes[^1])
    {
        (p50, p99, rssMb) = (p50n, p99n, rss);
    }
}
Console.WriteLine($"lease added -> route programmed over {events} events: p50 {p50:F1} ms, p99 {p99:F1} ms");
Console.WriteLine($"agent peak RSS at {sizes[^1]} peers: {rssMb:F1} MB");
Console.WriteLine($"BENCH converge ratio_{sizes[^1]}={lastRatio:F2} event_p50_ms={p50:F1} event_p99_ms={p99:F1} rss_mb={rssMb:F1} peers={sizes[^1]}");
return 0;

(double, double, double, double) RunAgent(int n, int eventCount)
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
        Stopwatch sw = Stopwatch.StartNew();
        agent = Process.Start(new ProcessStartInfo("nsenter", ["--net=" + ns.Path, bin, "agent", "--iface", "eth0", "--store", "file",
            "--store-dir", Path.Combine(dir, "store"), "--net-config-path", Path.Combine(dir, "net-conf.json"),
            "--subnet-file", Path.Combine(dir, "subnet.env"), "--state-dir", dir, "--iptables-forward-rules=false", "--log-level", "warning"])
        { RedirectStandardError = true, UseShellExecute = false })!;
        StringBuilder errors = new();
        agent.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
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
        for (int e = 0; e < eventCount; e++)
        {
            int target = Routes(rtnl) + 1;
            Stopwatch ev = Stopwatch.StartNew();
            Put(store, n + e);
            while (Routes(rtnl) < target)
            {
                Thread.Sleep(1);
            }
            latencies.Add(ev.Elapsed.TotalMilliseconds);
        }
        double rss = PeakRssMb(agent.Id);
        latencies.Sort();
        return (converge, Pct(latencies, 0.50), Pct(latencies, 0.99), rss);
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

double RunIpBatch(int n)
{
    using TestNetns ns = new("bref");
    Underlay(ns);
    ns.Ip("link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "192.0.2.1", "dev", "eth0", "dstport", "4789", "nolearning");
    ns.Ip("link", "set", "flannel.1", "up");
    StringBuilder ip = new(), bridge = new();
    for (int i = 0; i < n; i++)
    {
        (string subnet, string gw, string mac, string pub) = Peer(i);
        ip.Append($"neigh replace {gw} lladdr {mac} dev flannel.1 nud permanent\n");
        ip.Append($"route replace {subnet} via {gw} dev flannel.1 onlink proto 84\n");
        bridge.Append($"fdb replace {mac} dev flannel.1 dst {pub} self permanent\n");
    }
    string ipFile = Path.GetTempFileName(), brFile = Path.GetTempFileName();
    File.WriteAllText(ipFile, ip.ToString());
    File.WriteAllText(brFile, bridge.ToString());
    try
    {
        Stopwatch sw = Stopwatch.StartNew();
        ns.Exec("bridge", "-batch", brFile).EnsureSuccess("bridge -batch");
        ns.Exec("ip", "-batch", ipFile).EnsureSuccess("ip -batch");
        return sw.Elapsed.TotalMilliseconds;
    }
    finally
    {
        File.Delete(ipFile);
        File.Delete(brFile);
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
