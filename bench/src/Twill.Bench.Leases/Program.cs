// bench/leases: with N leases in etcd (5,000; 1,000 with --quick), the time for a new node to acquire
// its lease and list every peer, and the watch latency put -> event delivered over P puts (1,000; 200).
// Each figure stands beside a reference measured in the same run on the same etcd:
//   - acquire+list against: a bare range of the subnets prefix (the floor: etcd's own cost), and the
//     Flannel way of listing (one LeaseTimeToLive after another).
//   - watch latency against: the round trip of one put (the floor: a change cannot arrive sooner).
// Targets (issue 3): acquire + list < 1 s, watch p99 < 20 ms.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Etcdserverpb;
using Google.Protobuf;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Etcd;
using Twill.Leases.Store;
using Twill.Testing;

bool quick = args.Contains("--quick");
int leaseCount = quick ? 1_000 : 5_000;
int putCount = quick ? 200 : 1_000;
int ttlParallelism = args.SkipWhile(a => a != "--ttl-parallelism").Skip(1).Select(int.Parse).FirstOrDefault(32);
const string Prefix = "/coreos.com/network";
TimeSpan day = TimeSpan.FromHours(24);
CultureInfo inv = CultureInfo.InvariantCulture;

using EtcdServer etcd = EtcdServer.Start();
Console.WriteLine($"etcd {etcd.ClientUrls[0]} (pid {etcd.Members[0].Pid}, data in {etcd.Directory}), {leaseCount} leases, {putCount} watched puts, TTL lookups {ttlParallelism} at a time");
EtcdLeaseStoreOptions options = new() { Endpoints = etcd.ClientUrls, Prefix = Prefix };
// A /8 with /24 subnets has room for 65,535 leases. Data only: no traffic goes anywhere.
NetworkConfig config = NetworkConfig.Parse("{\"Network\":\"10.0.0.0/8\",\"SubnetLen\":24,\"Backend\":{\"Type\":\"vxlan\",\"VNI\":4096,\"Port\":4789}}", out _);

// 1. Fill: every lease on its own etcd lease, written as Flannel does (grant + txn), 64 at a time.
Stopwatch fill = Stopwatch.StartNew();
await using (EtcdLeaseStore filler = new(options))
{
    await Parallel.ForEachAsync(Enumerable.Range(0, leaseCount), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
    {
        string key = $"10.{(i + 256) / 256}.{i % 256}.0-24";
        string value = $"{{\"PublicIP\":\"198.51.100.{(i % 250) + 1}\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{{\"VNI\":4096,\"VtepMAC\":\"0e:00:00:{i >> 16 & 0xff:x2}:{i >> 8 & 0xff:x2}:{i & 0xff:x2}\"}}}}";
        _ = await filler.TryCreateAsync(key, value, day, ct) ?? throw new InvalidOperationException($"fill: {key} already taken");
    });
}
fill.Stop();

// Warm the JIT on another prefix so the measured node pays only for its I/O, as an AOT binary would.
await using (EtcdLeaseStore warm = new(options with { Prefix = "/bench-warmup" }))
{
    await new LeaseManager(warm, config).AcquireAsync(LeaseAttrs.ForVxlan(IPAddress.Parse("192.0.2.250"), null), CancellationToken.None);
    await warm.ListAsync(CancellationToken.None);
}

// 2. A new node: fresh connection and caches. Acquire (lists, picks, creates), then list every peer.
double acquireMs, listMs;
int peers;
await using (EtcdLeaseStore node = new(options) { TtlLookupParallelism = ttlParallelism })
{
    LeaseManager manager = new(node, config);
    Stopwatch sw = Stopwatch.StartNew();
    Twill.Leases.Lease mine = await manager.AcquireAsync(LeaseAttrs.ForVxlan(IPAddress.Parse("192.0.2.1"), new VxlanLeaseData(4096, System.Net.NetworkInformation.PhysicalAddress.Parse("0e:11:22:33:44:55"))), CancellationToken.None);
    acquireMs = sw.Elapsed.TotalMilliseconds;
    sw.Restart();
    LeaseListing all = await node.ListAsync(CancellationToken.None);
    listMs = sw.Elapsed.TotalMilliseconds;
    peers = all.Records.Count - 1;
    if (all.Records.Count != leaseCount + 1 || all.Records.All(r => r.Key != mine.Key))
    {
        throw new InvalidOperationException($"listing has {all.Records.Count} records, expected {leaseCount + 1} including {mine.Key}");
    }
}

// Where the time goes: a cold listing alone (a fresh store), and warm listings repeated.
double coldListMs, coldListCpuMs, coldListOurCpuMs, warmListMs = double.MaxValue;
await using (EtcdLeaseStore other = new(options) { TtlLookupParallelism = ttlParallelism })
{
    TimeSpan ourCpu = Process.GetCurrentProcess().TotalProcessorTime;
    double etcdCpu = EtcdCpuMs(etcd.Members[0].Pid!.Value);
    Stopwatch sw = Stopwatch.StartNew();
    await other.ListAsync(CancellationToken.None);
    coldListMs = sw.Elapsed.TotalMilliseconds;
    coldListOurCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - ourCpu).TotalMilliseconds;
    coldListCpuMs = coldListOurCpuMs + (EtcdCpuMs(etcd.Members[0].Pid!.Value) - etcdCpu);
    for (int i = 0; i < 5; i++)
    {
        sw.Restart();
        await other.ListAsync(CancellationToken.None);
        warmListMs = Math.Min(warmListMs, sw.Elapsed.TotalMilliseconds);
    }
}

// References: a bare range (no TTLs), and Flannel's listing (range + one LeaseTimeToLive at a time).
double rangeMs, flannelListMs;
using (Grpc.Net.Client.GrpcChannel channel = Grpc.Net.Client.GrpcChannel.ForAddress(etcd.ClientUrls[0], new() { MaxReceiveMessageSize = null }))
{
    KV.KVClient kv = new(channel);
    Etcdserverpb.Lease.LeaseClient leases = new(channel);
    ByteString from = ByteString.CopyFromUtf8(Prefix + "/subnets/");
    ByteString to = ByteString.CopyFromUtf8(Prefix + "/subnets0");
    await kv.RangeAsync(new RangeRequest { Key = from, RangeEnd = to, Limit = 1 });
    Stopwatch sw = Stopwatch.StartNew();
    RangeResponse range = await kv.RangeAsync(new RangeRequest { Key = from, RangeEnd = to });
    rangeMs = sw.Elapsed.TotalMilliseconds;
    sw.Restart();
    range = await kv.RangeAsync(new RangeRequest { Key = from, RangeEnd = to });
    foreach (Mvccpb.KeyValue item in range.Kvs)
    {
        await leases.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = item.Lease });
    }
    flannelListMs = sw.Elapsed.TotalMilliseconds;
}

// 3. Watch latency: one put at a time (a renewal: grant + put), timed until the watcher delivers it.
List<double> latencies = new(putCount);
List<double> putRoundTrips = new(putCount);
await using (EtcdLeaseStore watcher = new(options))
await using (EtcdLeaseStore writer = new(options))
{
    ConcurrentDictionary<long, TaskCompletionSource<long>> waiting = new();
    ConcurrentDictionary<long, long> arrived = new();
    long start = (await watcher.ListAsync(CancellationToken.None)).Revision;
    using CancellationTokenSource stop = new();
    Task pump = Task.Run(async () =>
    {
        try
        {
            await foreach (LeaseChange change in watcher.WatchAsync(start, stop.Token))
            {
                long now = Stopwatch.GetTimestamp();
                arrived[change.Revision] = now;
                if (waiting.TryRemove(change.Revision, out TaskCompletionSource<long>? tcs))
                {
                    tcs.TrySetResult(now);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    });
    string[] keys = [.. Enumerable.Range(0, 50).Select(i => $"10.{(i + 256) / 256}.{i % 256}.0-24")];
    for (int i = 0; i < putCount + 20; i++)
    {
        string key = keys[i % keys.Length];
        string value = $"{{\"PublicIP\":\"198.51.100.{(i % 250) + 1}\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{{\"VNI\":4096,\"VtepMAC\":\"0e:00:00:00:00:{i % 256:x2}\"}}}}";
        long t0 = Stopwatch.GetTimestamp();
        LeaseRecord written = await writer.UpdateAsync(key, value, day, null, CancellationToken.None);
        long t1 = Stopwatch.GetTimestamp();
        TaskCompletionSource<long> tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        long delivered = arrived.TryGetValue(written.Revision, out long early) ? early
            : waiting.GetOrAdd(written.Revision, tcs) is var w && arrived.TryGetValue(written.Revision, out long raced) ? raced
            : await w.Task.WaitAsync(TimeSpan.FromSeconds(10));
        if (i >= 20)
        {
            // The first 20 warm the path up.
            latencies.Add(Stopwatch.GetElapsedTime(t0, delivered).TotalMilliseconds);
            putRoundTrips.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
        }
    }
    await stop.CancelAsync();
    await pump;
}

double p50 = Percentile(latencies, 0.50), p99 = Percentile(latencies, 0.99);
double putP50 = Percentile(putRoundTrips, 0.50), putP99 = Percentile(putRoundTrips, 0.99);
double acquireList = acquireMs + listMs;

Console.WriteLine();
Console.WriteLine($"{"measure",-44} {"value",12} {"reference",12} {"ratio",7}  reference is");
Row($"fill {leaseCount} leases (grant+txn, 64 parallel)", fill.Elapsed.TotalMilliseconds, double.NaN, "");
Row("new node: acquire (list + create)", acquireMs, double.NaN, "");
Row($"new node: list {peers} peers (warm TTL cache)", listMs, rangeMs, "bare range, no TTLs");
Row("new node: acquire + list", acquireList, flannelListMs, "Flannel's list (TTL one by one)");
Row("another new node: first list (cold TTL cache)", coldListMs, flannelListMs, "Flannel's list (TTL one by one)");
Row("  its CPU time, ours + etcd's (2 cores)", coldListCpuMs, coldListMs * 2, "wall time x 2 cores");
Row("  its CPU time, ours only", coldListOurCpuMs, coldListCpuMs, "ours + etcd's");
Row("best of 5 warm lists", warmListMs, rangeMs, "bare range, no TTLs");
Row("watch put->event p50", p50, putP50, "put round trip p50 (grant+put)");
Row("watch put->event p99", p99, putP99, "put round trip p99");
Console.WriteLine();
Console.WriteLine($"targets: acquire+list < 1000 ms: {(acquireList < 1000 ? "met" : "MISSED")}; watch p99 < 20 ms: {(p99 < 20 ? "met" : "MISSED")}");
Console.WriteLine(string.Create(inv, $"BENCH leases acquire_list_ms={acquireList:F1} watch_p50_ms={p50:F2} watch_p99_ms={p99:F2} leases={leaseCount} puts={putCount} acquire_ms={acquireMs:F1} list_ms={listMs:F1} flannel_list_ms={flannelListMs:F1} cold_list_ms={coldListMs:F1} cold_list_cpu_ms={coldListCpuMs:F1}"));
return 0;

void Row(string what, double value, double reference, string referenceIs)
{
    string r = double.IsNaN(reference) ? "" : reference.ToString("F1", inv);
    string ratio = double.IsNaN(reference) || reference == 0 ? "" : (value / reference).ToString("F2", inv);
    Console.WriteLine(string.Create(inv, $"{what,-44} {value,12:F1} {r,12} {ratio,7}  {referenceIs}"));
}

// utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms).
static double EtcdCpuMs(int pid)
{
    string stat = File.ReadAllText($"/proc/{pid}/stat");
    string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
}

static double Percentile(List<double> values, double p)
{
    double[] sorted = [.. values.Order()];
    return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
