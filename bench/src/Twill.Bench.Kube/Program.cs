using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Twill.Core;
using Twill.Netlink;
using Twill.Testing;

// bench/kube: the API server stand-in on a real etcd (both in a control-plane namespace the bench creates)
// holding N kubelet-sized Node objects with Flannel's annotations and podCIDRs; one agent with
// --kube-subnet-mgr in a node namespace wired to it by a veth: time from start to subnet.env plus every
// peer's route, beside ip -batch + bridge -batch programming the same peers in a fresh namespace; the
// agent's peak RSS (VmHWM); a peer's VtepMAC changed through the API -> the new MAC in the kernel (seen
// by an rtnetlink neighbour monitor: the ARP entry or the FDB entry, whichever comes first), p50/p99,
// under a churn of 50 node status updates per second on other nodes.
//
// Peers' public IPs come from 198.18.0.0/15 (RFC 2544, benchmarking): the three documentation /24s
// hold 762 addresses, and the store rightly skips a node claiming another node's public IP. They are
// only FDB destinations, never addresses on an interface; the bench's interfaces use 192.0.2.0/24.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick");
int n = quick ? 500 : 5000;
int at = Array.IndexOf(args, "--nodes");
if (at >= 0 && at + 1 < args.Length)
{
    n = int.Parse(args[at + 1], CultureInfo.InvariantCulture);
}
int events = quick ? 50 : 200;
const int ChurnPerSecond = 50;
string bin = Environment.GetEnvironmentVariable("TWILL_BIN") ?? Path.GetFullPath("out/bin/twill");
foreach (string needed in (string[])[bin, KubeApiServer.BinaryPath, EtcdServer.EtcdPath])
{
    if (!File.Exists(needed))
    {
        Console.Error.WriteLine($"bench/kube: {needed} missing (make build, or set TWILL_BIN / TWILL_KUBE_APISERVER)");
        return 2;
    }
}

string dir = Directory.CreateTempSubdirectory("twill-bench-kube-").FullName;
List<Process> owned = [];
TestNetns? cp = null, node = null;
try
{
    cp = new TestNetns("bkcp");
    node = new TestNetns("bknode");
    cp.Ip("link", "set", "lo", "up");
    cp.Ip("link", "add", "sw0", "type", "veth", "peer", "name", "eth0", "netns", node.Name);
    cp.Ip("addr", "add", "192.0.2.254/24", "dev", "sw0");
    cp.Ip("link", "set", "sw0", "up");
    node.Ip("link", "set", "lo", "up");
    node.Ip("addr", "add", "192.0.2.1/24", "dev", "eth0");
    node.Ip("link", "set", "eth0", "up");

    string token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    string pki = Path.Combine(dir, "pki"), tokens = Path.Combine(dir, "tokens.csv"), kubeconfig = Path.Combine(dir, "kubeconfig");
    Tool.Run(KubeApiServer.BinaryPath, ["gen-certs", "--dir", pki, "--ip", "192.0.2.254"], stdin: null).EnsureSuccess("gen-certs");
    File.WriteAllText(tokens, $"{token},admin,admin-uid,\"system:masters\"\n");
    File.WriteAllText(kubeconfig, KubeApiServer.Kubeconfig("https://192.0.2.254:6443", Path.Combine(pki, "ca.crt"), token));
    // The bench's etcd does not fsync (--unsafe-no-fsync): a real cluster's etcd has a disk of its own
    // (fsync well under 10 ms), this one shares a disk with everyone's builds, where one fsync took up to
    // 100 ms and made the probes measure the disk. TWILL_BENCH_ETCD_FSYNC=1 keeps fsync on.
    bool fsync = Environment.GetEnvironmentVariable("TWILL_BENCH_ETCD_FSYNC") == "1";
    owned.Add(InNamespace(cp, EtcdServer.EtcdPath, [], ["--name", "cp", "--data-dir", Path.Combine(dir, "etcd"),
        "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
        "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
        "--initial-cluster", "cp=http://127.0.0.1:2380", "--quota-backend-bytes", "8589934592", "--log-level", "warn",
        .. (fsync ? (string[])[] : ["--unsafe-no-fsync"])]));
    owned.Add(InNamespace(cp, KubeApiServer.BinaryPath, [], "--etcd-servers=http://127.0.0.1:2379", "--bind-address=192.0.2.254",
        "--secure-port=6443", "--tls-cert-file=" + Path.Combine(pki, "apiserver.crt"), "--tls-private-key-file=" + Path.Combine(pki, "apiserver.key"),
        "--insecure-port=8080", "--insecure-bind-address=192.0.2.254", "--token-auth-file=" + tokens));

    using NetNs cpHandle = NetNs.Open(cp.Path);
    using HttpClient api = Client(cpHandle, token);
    WaitApi(api, owned);

    // Populate: node 0 is the agent's own, 1..N-1 its peers.
    Stopwatch populate = Stopwatch.StartNew();
    long bytes = 0;
    Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
    {
        string json = NodeJson(i, n);
        Interlocked.Add(ref bytes, json.Length);
        using StringContent body = new(json, Encoding.UTF8, "application/json");
        using HttpResponseMessage r = api.PostAsync("/api/v1/nodes", body).GetAwaiter().GetResult();
        if (!r.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"create node {Name(i)}: {(int)r.StatusCode} {r.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    });
    long listBytes;
    using (HttpResponseMessage list = api.GetAsync("/api/v1/nodes").GetAwaiter().GetResult())
    {
        listBytes = list.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync().GetAwaiter().GetResult().Length;
    }
    Console.WriteLine($"stand-in populated with {n} nodes in {populate.Elapsed.TotalSeconds:F1} s: {bytes / n / 1024.0:F1} KB of JSON per node created, {listBytes / 1048576.0:F1} MB per full list; etcd {(fsync ? "with" : "without")} fsync");

    File.WriteAllText(Path.Combine(dir, "net-conf.json"), """{"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"vxlan"}}""");
    using NetNs nodeHandle = NetNs.Open(node.Path);
    using RtnlConnection rtnl = RtnlConnection.Open(nodeHandle);
    using RtnlMonitor monitor = RtnlMonitor.Open(nodeHandle, RtnlGroups.Neighbours);
    using CancellationTokenSource stop = new();
    ConcurrentDictionary<string, long> macSeen = new();
    Task watching = Task.Run(async () =>
    {
        await foreach (RtnlEvent e in monitor.ReadAllAsync(stop.Token))
        {
            if (e.Kind == RtnlEventKind.NewNeighbour && e.Neighbour?.Mac is { } mac)
            {
                macSeen.TryAdd(mac.ToColonString(), Stopwatch.GetTimestamp());
            }
        }
    });
    string subnetEnv = Path.Combine(dir, "subnet.env");
    StringBuilder errors = new();
    Stopwatch sw = Stopwatch.StartNew();
    // TWILL_BENCH_AGENT_ENV="K=V K=V": extra environment for the agent only (GC experiments: DOTNET_GCgen0size=...).
    (string, string)[] agentEnv = [("NODE_NAME", Name(0)), .. (Environment.GetEnvironmentVariable("TWILL_BENCH_AGENT_ENV") ?? "")
        .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(kv => (kv[..kv.IndexOf('=', StringComparison.Ordinal)], kv[(kv.IndexOf('=', StringComparison.Ordinal) + 1)..]))];
    string agentLog = Environment.GetEnvironmentVariable("TWILL_BENCH_AGENT_LOG") ?? "warning";
    // With a log level asked for, the whole log is kept too (the table prints its first 20 KB).
    StreamWriter? fullLog = agentLog == "warning" ? null : new StreamWriter("/tmp/twill-bench-kube-agent.log") { AutoFlush = true };
    Process agent = InNamespace(node, bin, agentEnv, "agent", "--iface", "eth0", "--kube-subnet-mgr", "--kubeconfig-file", kubeconfig,
        "--net-config-path", Path.Combine(dir, "net-conf.json"), "--subnet-file", subnetEnv, "--state-dir", Path.Combine(dir, "state"),
        "--iptables-forward-rules=false", "--log-level", agentLog);
    owned.Add(agent);
    agent.ErrorDataReceived += (_, e) =>
    {
        if (e.Data is not null)
        {
            lock (errors)
            {
                if (errors.Length < 20_000)
                {
                    errors.AppendLine(e.Data);
                }
                fullLog?.WriteLine(e.Data);
            }
        }
    };
    double subnetEnvMs = 0;
    while (true)
    {
        if (agent.HasExited)
        {
            throw new InvalidOperationException($"agent exited with {agent.ExitCode}: {errors}");
        }
        if (subnetEnvMs == 0 && File.Exists(subnetEnv))
        {
            subnetEnvMs = sw.Elapsed.TotalMilliseconds;
        }
        if (subnetEnvMs > 0 && Routes(rtnl) >= n - 1)
        {
            break;
        }
        if (sw.Elapsed > TimeSpan.FromMinutes(10))
        {
            throw new TimeoutException($"agent not ready after 10 min ({Routes(rtnl)} of {n - 1} routes): {errors}");
        }
        Thread.Sleep(20);
    }
    double readyMs = sw.Elapsed.TotalMilliseconds;
    double readyRss = PeakRssMb(agent.Id);

    // A watch of the bench's own on the same API, opened after the agent's: when the stand-in delivers a
    // probe's event to a watcher. PATCH sent -> delivered is the stand-in's and etcd's part; delivered ->
    // kernel is the agent's (it receives the same event on its own watch at about the same moment).
    ConcurrentDictionary<string, long> macDelivered = new();
    using HttpClient watchApi = Client(cpHandle, token, Timeout.InfiniteTimeSpan);
    long watchFrom;
    using (HttpResponseMessage one = watchApi.GetAsync("/api/v1/nodes?limit=1").GetAwaiter().GetResult())
    {
        using JsonDocument doc = JsonDocument.Parse(one.EnsureSuccessStatusCode().Content.ReadAsStringAsync().GetAwaiter().GetResult());
        watchFrom = long.Parse(doc.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString()!, CultureInfo.InvariantCulture);
    }
    HttpResponseMessage watchResponse = watchApi.GetAsync($"/api/v1/nodes?watch=1&resourceVersion={watchFrom}", HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
    watchResponse.EnsureSuccessStatusCode();
    Task benchWatch = Task.Run(async () =>
    {
        using StreamReader lines = new(await watchResponse.Content.ReadAsStreamAsync(stop.Token));
        while (await lines.ReadLineAsync(stop.Token) is string line)
        {
            long at = Stopwatch.GetTimestamp();
            // Only the probes' MACs (0e:...) matter; the heartbeats' events carry the nodes' own.
            foreach (Match m in ProbeMac().Matches(line))
            {
                macDelivered.TryAdd(m.Groups[1].Value, at);
            }
        }
    });

    // Churn: 50 status updates per second (a kubelet's heartbeat) on nodes the probes do not touch.
    using CancellationTokenSource churnStop = new();
    long churned = 0;
    Task churn = Task.Run(async () =>
    {
        Random rng = new(7);
        Stopwatch clock = Stopwatch.StartNew();
        long k = 0;
        while (!churnStop.IsCancellationRequested)
        {
            int i = n / 2 + rng.Next(n / 2);
            string patch = "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"lastHeartbeatTime\":\"" + DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) + "\"}]}}";
            using StringContent body = new(patch, Encoding.UTF8, "application/strategic-merge-patch+json");
            using HttpResponseMessage r = await api.PatchAsync($"/api/v1/nodes/{Name(i)}/status", body);
            Interlocked.Increment(ref churned);
            k++;
            TimeSpan due = TimeSpan.FromSeconds(k / (double)ChurnPerSecond) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due);
            }
        }
    });
    Stopwatch churnClock = Stopwatch.StartNew();
    List<double> latencies = [], patchLatencies = [], deliveries = [], agentParts = [];
    for (int e = 0; e < events; e++)
    {
        int i = 1 + e % Math.Max(1, n / 2 - 1);
        string mac = $"0e:{(e >> 8) & 0xff:x2}:{e & 0xff:x2}:{(i >> 8) & 0xff:x2}:{i & 0xff:x2}:02";
        string patch = "{\"metadata\":{\"annotations\":{\"flannel.alpha.coreos.com/backend-data\":\"{\\\"VNI\\\":1,\\\"VtepMAC\\\":\\\"" + mac + "\\\"}\"}}}";
        using StringContent body = new(patch, Encoding.UTF8, "application/merge-patch+json");
        long start = Stopwatch.GetTimestamp();
        using HttpResponseMessage r = api.PatchAsync($"/api/v1/nodes/{Name(i)}", body).GetAwaiter().GetResult();
        r.EnsureSuccessStatusCode();
        patchLatencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        Stopwatch wait = Stopwatch.StartNew();
        long seenAt;
        while (!macSeen.TryGetValue(mac, out seenAt))
        {
            if (agent.HasExited || wait.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"VtepMAC {mac} of {Name(i)} never reached the kernel: {errors}");
            }
            Thread.Sleep(1);
        }
        latencies.Add(Stopwatch.GetElapsedTime(start, seenAt).TotalMilliseconds);
        while (!macDelivered.TryGetValue(mac, out long deliveredAt))
        {
            if (benchWatch.IsCompleted || wait.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"the bench's own watch never delivered VtepMAC {mac} of {Name(i)}");
            }
            Thread.Sleep(1);
        }
        deliveries.Add(Stopwatch.GetElapsedTime(start, macDelivered[mac]).TotalMilliseconds);
        // The agent's part: its watch delivered about when the bench's did; a negative value (the agent's
        // came first) counts as what it is.
        agentParts.Add(Stopwatch.GetElapsedTime(macDelivered[mac], seenAt).TotalMilliseconds);
        Thread.Sleep(20);
    }
    churnStop.Cancel();
    churn.Wait();
    double churnRate = Interlocked.Read(ref churned) / churnClock.Elapsed.TotalSeconds;
    double peakRss = PeakRssMb(agent.Id);
    string memory = MemoryLines(agent.Id);
    stop.Cancel();
    watchResponse.Dispose();
    latencies.Sort();
    patchLatencies.Sort();
    deliveries.Sort();
    agentParts.Sort();

    double ipMs = RunIpBatch(n);
    double ratio = readyMs / ipMs;
    Console.WriteLine($"{"nodes",8} {"subnet.env ms",14} {"ready ms",10} {"ip-batch ms",12} {"ratio",7}");
    Console.WriteLine($"{n,8} {subnetEnvMs,14:F1} {readyMs,10:F1} {ipMs,12:F1} {ratio,7:F2}   (target ratio <= 2)");
    Console.WriteLine($"VtepMAC changed -> kernel over {events} events under {churnRate:F0} status updates/s: p50 {Pct(latencies, 0.5):F1} ms, p99 {Pct(latencies, 0.99):F1} ms   (target p99 < 100)");
    Console.WriteLine($"  PATCH sent -> its answer (stand-in + etcd commit):          p50 {Pct(patchLatencies, 0.5):F1} ms, p99 {Pct(patchLatencies, 0.99):F1} ms");
    Console.WriteLine($"  PATCH sent -> event delivered to a watcher (stand-in, etcd): p50 {Pct(deliveries, 0.5):F1} ms, p99 {Pct(deliveries, 0.99):F1} ms");
    Console.WriteLine($"  event delivered -> kernel (the agent's part):                p50 {Pct(agentParts, 0.5):F1} ms, p99 {Pct(agentParts, 0.99):F1} ms");
    Console.WriteLine($"agent peak RSS: {readyRss:F1} MB at ready, {peakRss:F1} MB after the churn   (target <= 50); {memory}");
    if (agentLog != "warning")
    {
        lock (errors)
        {
            Console.WriteLine($"agent log (--log-level {agentLog}, first 20 KB):\n{errors}");
        }
    }
    Console.WriteLine($"BENCH kube nodes={n} ready_ratio={ratio:F2} event_p99_ms={Pct(latencies, 0.99):F1} rss_mb={peakRss:F1} ready_ms={readyMs:F0} agent_event_p99_ms={Pct(agentParts, 0.99):F1}");
    return 0;
}
catch (Exception e)
{
    // Every failure is caught, so the finally below always removes the namespaces and stops the processes.
    Console.Error.WriteLine($"bench/kube: {e}");
    return 1;
}
finally
{
    // nsenter execs the program, so each PID is the program's own: stopped by PID, last started first.
    for (int i = owned.Count - 1; i >= 0; i--)
    {
        if (!owned[i].HasExited)
        {
            owned[i].Kill();
            owned[i].WaitForExit(10_000);
        }
        owned[i].Dispose();
    }
    node?.Dispose();
    cp?.Dispose();
    Directory.Delete(dir, true);
}

static Process InNamespace(TestNetns ns, string file, (string Key, string Value)[] env, params string[] args)
{
    ProcessStartInfo psi = new("nsenter") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
    foreach (string a in (string[])["--net=" + ns.Path, file, .. args])
    {
        psi.ArgumentList.Add(a);
    }
    foreach ((string k, string v) in env)
    {
        psi.Environment[k] = v;
    }
    Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
    p.OutputDataReceived += (_, _) => { };
    p.BeginOutputReadLine();
    p.BeginErrorReadLine();
    return p;
}

// The bench runs in the root namespace; its sockets to the stand-in are made inside the control-plane namespace.
static HttpClient Client(NetNs cp, string token, TimeSpan? timeout = null)
{
    SocketsHttpHandler handler = new()
    {
        MaxConnectionsPerServer = 16,
        ConnectCallback = async (ctx, ct) =>
        {
            Socket s = cp.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
            try
            {
                await s.ConnectAsync(IPAddress.Parse(ctx.DnsEndPoint.Host), ctx.DnsEndPoint.Port, ct);
                return new NetworkStream(s, ownsSocket: true);
            }
            catch
            {
                s.Dispose();
                throw;
            }
        },
    };
    HttpClient http = new(handler) { BaseAddress = new Uri("http://192.0.2.254:8080"), Timeout = timeout ?? TimeSpan.FromSeconds(60) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    return http;
}

static void WaitApi(HttpClient api, List<Process> owned)
{
    Stopwatch clock = Stopwatch.StartNew();
    while (true)
    {
        if (owned.Any(p => p.HasExited))
        {
            throw new InvalidOperationException("etcd or the stand-in exited during start");
        }
        try
        {
            using HttpResponseMessage r = api.GetAsync("/api/v1/nodes?limit=1").GetAwaiter().GetResult();
            if (r.IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }
        if (clock.Elapsed > TimeSpan.FromSeconds(60))
        {
            throw new TimeoutException("the stand-in did not answer within 60 s");
        }
        Thread.Sleep(100);
    }
}

static string Name(int i) => $"node-{i:d5}";

static (string Subnet, string Gateway, string Mac, string PublicIP) Peer(int i)
{
    int third = (i % 250) + 1, second = (i / 250) + 1;
    // Node 0 (the agent) is 192.0.2.1 on its eth0; peers take 198.18.0.0/15 in order.
    string pub = i == 0 ? "192.0.2.1" : $"198.{18 + (i >> 16)}.{(i >> 8) & 0xff}.{i & 0xff}";
    string mac = $"0a:{(i >> 16) & 0xff:x2}:{(i >> 8) & 0xff:x2}:{i & 0xff:x2}:00:01";
    return ($"10.{second}.{third}.0/24", $"10.{second}.{third}.0", mac, pub);
}

// A Node as a kubelet registers and updates it (addresses, conditions, ~40 images, capacity, nodeInfo),
// with Flannel's annotations as a flanneld on it publishes them; node 0 (the agent's) has only its podCIDR.
static string NodeJson(int i, int n)
{
    (string subnet, _, string mac, string pub) = Peer(i);
    string name = Name(i);
    string internalIp = i == 0 ? "192.0.2.1" : pub;
    StringBuilder sb = new(12_000);
    sb.Append($$$"""{"apiVersion":"v1","kind":"Node","metadata":{"name":"{{{name}}}","labels":{"beta.kubernetes.io/arch":"amd64","beta.kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","kubernetes.io/hostname":"{{{name}}}","kubernetes.io/os":"linux","node.kubernetes.io/instance-type":"m5.xlarge","topology.kubernetes.io/region":"eu-west-1","topology.kubernetes.io/zone":"eu-west-1{{{(char)('a' + i % 3)}}}"},"annotations":{"node.alpha.kubernetes.io/ttl":"0","volumes.kubernetes.io/controller-managed-attach-detach":"true","kubeadm.alpha.kubernetes.io/cri-socket":"unix:///run/containerd/containerd.sock""").Append('"');
    if (i != 0)
    {
        sb.Append($$$""","flannel.alpha.coreos.com/backend-data":"{\"VNI\":1,\"VtepMAC\":\"{{{mac}}}\"}","flannel.alpha.coreos.com/backend-type":"vxlan","flannel.alpha.coreos.com/kube-subnet-manager":"true","flannel.alpha.coreos.com/public-ip":"{{{pub}}}""").Append('"');
    }
    sb.Append($$$"""}},"spec":{"podCIDR":"{{{subnet}}}","podCIDRs":["{{{subnet}}}"],"providerID":"aws:///eu-west-1a/i-0{{{i:x15}}}"},"status":{"capacity":{"cpu":"4","ephemeral-storage":"104845292Ki","hugepages-1Gi":"0","hugepages-2Mi":"0","memory":"16094208Ki","pods":"110"},"allocatable":{"cpu":"3920m","ephemeral-storage":"95551679124","hugepages-1Gi":"0","hugepages-2Mi":"0","memory":"15191040Ki","pods":"110"},"conditions":[""");
    string[] conditions = ["MemoryPressure:False:KubeletHasSufficientMemory:kubelet has sufficient memory available", "DiskPressure:False:KubeletHasNoDiskPressure:kubelet has no disk pressure", "PIDPressure:False:KubeletHasSufficientPID:kubelet has sufficient PID available", "Ready:True:KubeletReady:kubelet is posting ready status"];
    for (int c = 0; c < conditions.Length; c++)
    {
        string[] f = conditions[c].Split(':');
        sb.Append(c == 0 ? "" : ",").Append($$$"""{"type":"{{{f[0]}}}","status":"{{{f[1]}}}","lastHeartbeatTime":"2026-12-07T10:00:00Z","lastTransitionTime":"2026-12-01T08:00:00Z","reason":"{{{f[2]}}}","message":"{{{f[3]}}}"}""");
    }
    sb.Append($$$"""],"addresses":[{"type":"InternalIP","address":"{{{internalIp}}}"},{"type":"Hostname","address":"{{{name}}}"},{"type":"InternalDNS","address":"{{{name}}}.eu-west-1.compute.internal"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":10250}},"nodeInfo":{"machineID":"{{{i:x32}}}","systemUUID":"ec2{{{i:x5}}}-0000-0000-0000-000000000000","bootID":"{{{i * 7919:x8}}}-1111-2222-3333-444444444444","kernelVersion":"6.1.0-27-cloud-amd64","osImage":"Debian GNU/Linux 12 (bookworm)","containerRuntimeVersion":"containerd://1.7.22","kubeletVersion":"v1.31.2","kubeProxyVersion":"v1.31.2","operatingSystem":"linux","architecture":"amd64"},"images":[""");
    for (int k = 0; k < 40; k++)
    {
        string repo = $"registry.example.com/team-{k % 7}/service-{k:d2}";
        sb.Append(k == 0 ? "" : ",").Append($$$"""{"names":["{{{repo}}}@sha256:{{{(ulong)(k * 1_000_003 + 17):x16}}}{{{(ulong)(k * 31 + 5):x16}}}{{{(ulong)(k * 977):x16}}}{{{(ulong)(k * 13):x16}}}","{{{repo}}}:v1.{{{k}}}.{{{i % 5}}}"],"sizeBytes":{{{50_000_000 + k * 1_234_567}}}}""");
    }
    return sb.Append("]}}").ToString();
}

double RunIpBatch(int nodes)
{
    using TestNetns ns = new("bkref");
    ns.Ip("link", "add", "eth0", "type", "veth", "peer", "name", "sw0");
    ns.Ip("addr", "add", "192.0.2.1/24", "dev", "eth0");
    ns.Ip("link", "set", "sw0", "up");
    ns.Ip("link", "set", "eth0", "up");
    ns.Ip("link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "192.0.2.1", "dev", "eth0", "dstport", "8472", "nolearning");
    ns.Ip("link", "set", "flannel.1", "up");
    return IpBatchReference.ProgramVxlanPeers(ns, Enumerable.Range(1, nodes - 1).Select(Peer));
}

static int Routes(RtnlConnection rtnl) => rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main, RouteProtocol.Twill).Count;

static double PeakRssMb(int pid) => StatusKb(pid, "VmHWM:") / 1024;

static double StatusKb(int pid, string key)
{
    string line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal)) ?? key + " 0 kB";
    // "VmHWM:\t  51234 kB", "Threads:\t12": the value is the second field, after a tab and spaces.
    return double.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

// Where the resident memory is: anonymous (GC heap and native) against file-backed (the binary's pages).
static string MemoryLines(int pid) =>
    $"now RSS {StatusKb(pid, "VmRSS:") / 1024:F1} MB = anon {StatusKb(pid, "RssAnon:") / 1024:F1} + file {StatusKb(pid, "RssFile:") / 1024:F1} MB, threads {StatusKb(pid, "Threads:"):F0}";

static double Pct(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

// A probe's VtepMAC in a watch event's backend-data annotation (the JSON string is escaped inside the annotation value).
partial class Program
{
    [GeneratedRegex(@"VtepMAC\\"":\\""(0e:[0-9a-f:]{14})")]
    private static partial Regex ProbeMac();
}
