using System.Diagnostics;
using System.Text.RegularExpressions;
using Twill.Lab;
using Twill.Os;

namespace Twill.Drills;

/// <summary>
/// Drill 3: the lab's etcd is stopped for a while and started again (same data directory) while a
/// pod on node1 pings a pod on node2 every 20 ms. The data path must not notice (0 lost), every
/// agent must still hold its lease and be ready, and a peer that joins the moment etcd is back
/// (while the agents are still reconnecting) must reach every node: no peer event is missed.
/// </summary>
public static partial class StoreOutageDrill
{
    private const string Endpoint = "http://127.0.0.1:2379";
    private const string SubnetPrefix = "/coreos.com/network/subnets/";

    /// <summary>A peer no node has: a documentation address, a subnet the lab's nodes do not get (they are numbered from the bottom).</summary>
    private const string PeerSubnet = "10.244.250.0/24";

    public static DrillResult Run(DrillLab lab, TimeSpan outage)
    {
        string drill = $"etcd stopped {outage.TotalSeconds:0} s";
        const string target = "0 lost, leases held, no missed peer event";
        try
        {
            LabState state = lab.State;
            LabProcess etcd = lab.Process("etcd");
            string cp = etcd.Namespace!;
            string[] argv = DrillLab.Argv(etcd);
            string[] nodes = [.. state.Nodes.Select(n => n.Name)];
            if (state.Nodes.Any(n => n.Subnet is string s && DriftDrill.Network(s) == PeerSubnet))
            {
                return new DrillResult(drill, target, $"a node holds {PeerSubnet} (drill broken)", false);
            }

            using PodPing ping = PodPing.Start(lab.PodOn("node1").Namespace, DrillLab.Address(lab.PodOn("node2")), outage + TimeSpan.FromSeconds(8));
            Thread.Sleep(1000);
            if (!DrillLab.Stop(etcd, Signals.Terminate, TimeSpan.FromSeconds(15)))
            {
                return new DrillResult(drill, target, "etcd did not stop within 15 s", false);
            }
            Thread.Sleep(outage);
            lab.Restart("etcd", argv);
            if (!DrillLab.Eventually(TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100), () => Etcdctl(cp, "endpoint", "health").ExitCode == 0))
            {
                return new DrillResult(drill, target, "etcd did not come back within 20 s", false);
            }

            // The peer joins at once: the agents' watches are still broken (backing off), so they must
            // catch up from the revision they had, not from "now".
            Stopwatch joined = Stopwatch.StartNew();
            string key = SubnetPrefix + PeerSubnet.Replace('/', '-');
            string lease = LeaseId().Match(Etcdctl(cp, "lease", "grant", "3600").Stdout).Groups[1].Value;
            Etcdctl(cp, "put", "--lease=" + lease, key,
                """{"PublicIP":"192.0.2.250","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"0a:58:0a:f4:fa:00"}}""").EnsureSuccess("etcdctl put");
            bool seen = DrillLab.Eventually(DriftDrill.ResyncPeriod * 2, TimeSpan.FromMilliseconds(100),
                () => nodes.All(n => HasRoute(lab, n)));
            TimeSpan seenAfter = joined.Elapsed;
            int seenBy = nodes.Count(n => HasRoute(lab, n));
            Etcdctl(cp, "lease", "revoke", lease).EnsureSuccess("etcdctl lease revoke");
            bool forgotten = DrillLab.Eventually(DriftDrill.ResyncPeriod * 2, TimeSpan.FromMilliseconds(100), () => !nodes.Any(n => HasRoute(lab, n)));

            PingResult result = ping.Wait();
            string held = Etcdctl(cp, "get", "--prefix", "--keys-only", SubnetPrefix).EnsureSuccess("etcdctl get").Stdout;
            int leases = state.Nodes.Count(n => held.Contains(SubnetPrefix + DriftDrill.Network(n.Subnet!).Replace('/', '-'), StringComparison.Ordinal));
            int ready = nodes.Count(lab.AgentReady);
            int alive = state.Nodes.Count(n => LabProcesses.IsAlive(lab.Process("agent " + n.Name)));
            string measured = $"{result}; {leases}/{nodes.Length} leases held; {ready}/{nodes.Length} agents ready; " +
                              $"peer joined after restart: on {seenBy}/{nodes.Length} nodes in {DrillLab.Seconds(seenAfter)}, removed {(forgotten ? "everywhere" : "NOT everywhere")}";
            bool pass = result.Lost == 0 && leases == nodes.Length && ready == nodes.Length && alive == nodes.Length && seen && forgotten;
            return new DrillResult(drill, target, measured, pass);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            return DrillResult.Failed(drill, target, e);
        }
    }

    private static bool HasRoute(DrillLab lab, string node) =>
        DrillLab.In(lab.Node(node).Namespace, "ip", "-4", "route", "show", PeerSubnet).Stdout.Contains(PeerSubnet.Split('/')[0], StringComparison.Ordinal);

    private static Twill.Testing.Tool.Result Etcdctl(string netns, params string[] args) =>
        DrillLab.In(netns, ["etcdctl", "--endpoints", Endpoint, "--command-timeout", "3s", .. args]);

    [GeneratedRegex(@"lease ([0-9a-f]+) granted")]
    private static partial Regex LeaseId();
}
