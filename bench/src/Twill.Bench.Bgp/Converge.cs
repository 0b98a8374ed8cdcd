using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Twill.Netlink;
using Twill.Testing;

/// <summary>
/// Converge: N agents (out/bin/twill, bgp backend, file store) in N node namespaces on one rack
/// subnet (198.51.100.0/24), all started at once, peering with a real FRR ToR (zebra + bgpd, dynamic
/// neighbours) in its own namespace; the time from the start until the ToR's kernel holds every
/// node's subnet as `proto bgp` (seen by an rtnetlink monitor in the ToR, so polling costs nothing),
/// beside the time until the last agent wrote its subnet.env (the agent's own start-up, no BGP).
/// </summary>
internal static class Converge
{
    public sealed record Result(int Nodes, double RouteMs, double SubnetEnvMs, double FirstRouteMs);

    private const string BgpdConf = """
        hostname tor
        router bgp 65000
         bgp router-id 198.51.100.1
         no bgp ebgp-requires-policy
         no bgp default ipv4-unicast
         neighbor NODES peer-group
         neighbor NODES remote-as external
         neighbor NODES timers 3 9
         bgp listen range 198.51.100.0/24 peer-group NODES
         bgp listen limit 200
         address-family ipv4 unicast
          neighbor NODES activate
          maximum-paths 16
         exit-address-family
        """;

    private const string NetConf = """
        {"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"bgp","ASN":64512,"Peers":[{"Address":"198.51.100.1","ASN":65000,"HoldTime":9}]}}
        """;

    public static Result Run(string bin, int nodes, TimeSpan deadline)
    {
        string dir = Directory.CreateTempSubdirectory("twill-bench-bgp-").FullName;
        List<TestNetns> namespaces = [];
        List<Process> agents = [];
        FrrRouter? frr = null;
        try
        {
            TestNetns tor = new("btor");
            namespaces.Add(tor);
            tor.Ip("link", "add", "br0", "type", "bridge");
            tor.Ip("addr", "add", "198.51.100.1/24", "dev", "br0");
            tor.Ip("link", "set", "br0", "up");
            tor.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1").EnsureSuccess("sysctl");
            for (int i = 1; i <= nodes; i++)
            {
                TestNetns node = new($"bn{i}");
                namespaces.Add(node);
                tor.Ip("link", "add", $"t{i}", "type", "veth", "peer", "name", "eth0", "netns", node.Name);
                tor.Ip("link", "set", $"t{i}", "master", "br0", "up");
                node.Ip("addr", "add", $"198.51.100.{10 + i}/24", "dev", "eth0");
                node.Ip("link", "set", "eth0", "up");
                node.Ip("route", "add", "default", "via", "198.51.100.1");
                Directory.CreateDirectory(Path.Combine(dir, $"n{i}"));
            }
            frr = new FrrRouter(tor, BgpdConf);
            File.WriteAllText(Path.Combine(dir, "net-conf.json"), NetConf);
            Directory.CreateDirectory(Path.Combine(dir, "store"));

            using NetNs torHandle = NetNs.Open(tor.Path);
            using RtnlMonitor monitor = RtnlMonitor.Open(torHandle, RtnlGroups.Ipv4Routes);
            using CancellationTokenSource stopMonitor = new();
            ConcurrentDictionary<IPNetwork, long> seen = new();
            Task watching = Task.Run(async () =>
            {
                await foreach (RtnlEvent e in monitor.ReadAllAsync(stopMonitor.Token))
                {
                    if (e.Kind == RtnlEventKind.NewRoute && e.Route is Route r && r.Protocol == RouteProtocol.Bgp)
                    {
                        seen.TryAdd(r.Destination, Stopwatch.GetTimestamp());
                    }
                }
            });

            long start = Stopwatch.GetTimestamp();
            ConcurrentQueue<string> errors = new();
            for (int i = 1; i <= nodes; i++)
            {
                string state = Path.Combine(dir, $"n{i}");
                ProcessStartInfo psi = new("nsenter", ["--net=" + namespaces[i].Path, bin, "agent", "--iface", "eth0", "--store", "file",
                    "--store-dir", Path.Combine(dir, "store"), "--net-config-path", Path.Combine(dir, "net-conf.json"),
                    "--subnet-file", Path.Combine(state, "subnet.env"), "--state-dir", state, "--iptables-forward-rules=false",
                    "--log-level", "warning"])
                { RedirectStandardError = true, UseShellExecute = false };
                psi.Environment["NODE_NAME"] = $"bn{i}";
                Process agent = Process.Start(psi) ?? throw new InvalidOperationException("could not start an agent");
                agents.Add(agent);
                int n = i;
                agent.ErrorDataReceived += (_, e) => { if (e.Data is not null && errors.Count < 20) { errors.Enqueue($"agent {n}: {e.Data}"); } };
                agent.BeginErrorReadLine();
            }

            double subnetEnvMs = 0;
            HashSet<int> written = [];
            while (seen.Count < nodes || written.Count < nodes)
            {
                for (int i = 1; i <= nodes; i++)
                {
                    if (!written.Contains(i) && File.Exists(Path.Combine(dir, $"n{i}", "subnet.env")))
                    {
                        written.Add(i);
                        subnetEnvMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    }
                }
                if (agents.FirstOrDefault(a => a.HasExited) is Process dead)
                {
                    throw new InvalidOperationException($"an agent exited with {dead.ExitCode}: {string.Join('\n', errors)}");
                }
                if (Stopwatch.GetElapsedTime(start) > deadline)
                {
                    throw new InvalidOperationException(
                        $"{nodes} node(s): {seen.Count} route(s) in the ToR and {written.Count} subnet.env after {deadline.TotalSeconds} s\n"
                        + frr.Vtysh("show bgp summary") + string.Join('\n', errors));
                }
                Thread.Sleep(5);
            }
            stopMonitor.Cancel();
            long[] at = [.. seen.Values.Order()];
            return new Result(nodes, Ms(start, at[^1]), subnetEnvMs, Ms(start, at[0]));
        }
        finally
        {
            foreach (Process a in agents)
            {
                try
                {
                    if (!a.HasExited)
                    {
                        a.Kill();
                        a.WaitForExit(10_000);
                    }
                }
                catch (InvalidOperationException)
                {
                }
                a.Dispose();
            }
            frr?.Dispose();
            foreach (TestNetns ns in namespaces)
            {
                ns.Dispose();
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
