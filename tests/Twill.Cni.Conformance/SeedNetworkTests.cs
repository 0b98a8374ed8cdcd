using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Twill.Cni.Conformance.Harness;
using Twill.Testing;

namespace Twill.Cni.Conformance;

/// <summary>
/// The seed's conflist (`vxlan0`: flannel with delegate hairpinMode + isDefaultGateway, then
/// portmap) exactly as written — no cniVersion, so libcni passes "" — plus only the path keys that
/// keep files off the machine's /run/flannel and /var/lib/cni.
/// </summary>
public sealed class SeedNetworkTests
{
    public const string SeedConflist = """
        {
          "name": "vxlan0",
          "plugins": [
            { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
            { "type": "portmap", "capabilities": { "portMappings": true } }
          ]
        }
        """;

    private static readonly string[] OurChain = ["flannel", "bridge", "host-local", "portmap"];
    private static readonly string[] ReferenceChain = ["bridge", "host-local", "portmap"];

    public static string FixtureSubnetEnv => File.ReadAllText("/work/shared/fixtures/flannel/subnet.env");

    /// <summary>The seed conflist for ours, with subnetFile, dataDir and the IPAM dataDir pointed into the node's temp dir.</summary>
    public static string OursConflist(Node node)
    {
        JsonObject list = JsonNode.Parse(SeedConflist)!.AsObject();
        JsonObject flannel = list["plugins"]![0]!.AsObject();
        flannel["subnetFile"] = node.SubnetFile;
        flannel["dataDir"] = node.FlannelDir;
        flannel["ipam"] = new JsonObject { ["dataDir"] = node.IpamDir };
        return list.ToJsonString();
    }

    /// <summary>What runs on a node with the reference plugins: the delegate Flannel derives (no cniVersion, as the seed has none), then portmap.</summary>
    public static string ReferenceConflist(Node node)
    {
        JsonObject bridge = JsonNode.Parse(File.ReadAllText("/work/shared/fixtures/flannel/cni-delegate.linux.json"))!.AsObject();
        bridge.Remove("cniVersion");
        bridge.Remove("name");
        bridge["ipam"]!["dataDir"] = node.IpamDir;
        JsonObject list = JsonNode.Parse(SeedConflist)!.AsObject();
        list["plugins"]![0] = bridge;
        return list.ToJsonString();
    }

    private static NetworkList Network(Run run)
    {
        File.WriteAllText(run.Node.SubnetFile, FixtureSubnetEnv);
        return NetworkList.FromConflist(run.IsReference ? ReferenceConflist(run.Node) : OursConflist(run.Node));
    }

    [RootFact]
    public void SeedConflist_AddCheckDel_MatchesReferenceChain() => Oracle.Compare(OurChain, ReferenceChain, run =>
    {
        NetworkList net = Network(run);
        Attachment a = new("ctr-a", run.Node.Pod("a")) { CapabilityArgs = Configs.PortMappings((8080, 80, "tcp", null)) };
        Attachment b = new("ctr-b", run.Node.Pod("b")) { CapabilityArgs = Configs.PortMappings((8081, 80, "tcp", null)) };
        run.Add(net, a);
        run.Add(net, b);
        run.Snapshot("after two ADDs");
        run.Check(net, a); // no cniVersion = 0.1.0: CHECK is refused with code 1 by both
        run.Del(net, a);
        run.Del(net, a, "DEL ctr-a again");
        run.Snapshot("after DEL a");
        run.Del(net, b);
        run.Snapshot("after DEL b");
    });

    /// <summary>The address a result gives the pod, in any result version (0.1.0/0.2.0 "ip4", 0.3.0+ "ips").</summary>
    public static string PodIp(JsonNode? result)
    {
        string? cidr = (string?)result?["ip4"]?["ip"] ?? (string?)result?["ips"]?[0]?["address"];
        return cidr?.Split('/')[0] ?? throw new InvalidOperationException($"no address in result {result?.ToJsonString()}");
    }

    [RootTheory]
    [InlineData(PluginSet.Reference)]
    [InlineData(PluginSet.Ours)]
    public void SeedConflist_Pods_ReachEachOtherTheNodeAndHostPort(PluginSet set)
    {
        PluginDirs.EnsurePresent(set, set == PluginSet.Ours ? OurChain : ReferenceChain);
        using Run run = new(set);
        using TestNetns world = new("world");
        Node node = run.Node;
        // An underlay link to another namespace ("the world"), as a node's uplink.
        node.Ns.Ip("link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", world.Name);
        node.Ns.Ip("addr", "add", "192.0.2.1/24", "dev", "up0");
        node.Ns.Ip("link", "set", "up0", "up");
        world.Ip("addr", "add", "192.0.2.2/24", "dev", "eth0");
        world.Ip("link", "set", "eth0", "up");
        // The seed's manual step, here in the node namespace only.
        node.Sh("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1");

        NetworkList net = Network(run);
        Pod podA = node.Pod("a");
        Pod podB = node.Pod("b");
        Attachment a = new("ctr-a", podA) { CapabilityArgs = Configs.PortMappings((8080, 80, "tcp", null)) };
        Attachment b = new("ctr-b", podB);
        Libcni.Add(node, net, a).EnsureSuccess("ADD a");
        Libcni.Add(node, net, b).EnsureSuccess("ADD b");
        string ipA = PodIp(a.Cached);
        string ipB = PodIp(b.Cached);

        string www = Path.Combine(node.Dir, "www");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"), "hello from pod a\n");
        using Process httpd = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", podA.Ns.Name, "busybox", "httpd", "-f", "-p", "80", "-h", www]))
            ?? throw new InvalidOperationException("could not start busybox httpd in pod a");
        try
        {
            List<string> failures = [];
            void Expect(string what, Tool.Result r, string? body = null)
            {
                if (r.ExitCode != 0 || (body is not null && !r.Stdout.Contains(body, StringComparison.Ordinal)))
                {
                    failures.Add($"{what}: exit {r.ExitCode} {r.Stdout.Trim()} {r.Stderr.Trim()}");
                }
            }
            Tool.Result Get(TestNetns from, string url)
            {
                // curl, not busybox wget: the static busybox wget of Debian 12 segfaults here.
                Tool.Result r = from.Exec("curl", "-s", "-S", "-m", "3", url);
                for (int i = 0; i < 10 && r.ExitCode == 7; i++)
                {
                    Thread.Sleep(200); // connection refused: httpd may still be starting
                    r = from.Exec("curl", "-s", "-S", "-m", "3", url);
                }
                return r;
            }
            Expect("pod a pings pod b", podA.Ns.Exec("ping", "-c", "1", "-W", "2", ipB));
            Expect("pod b pings pod a", podB.Ns.Exec("ping", "-c", "1", "-W", "2", ipA));
            Expect("pod a pings the node (gateway 10.244.3.1)", podA.Ns.Exec("ping", "-c", "1", "-W", "2", "10.244.3.1"));
            Expect("pod a pings the node's underlay address", podA.Ns.Exec("ping", "-c", "1", "-W", "2", "192.0.2.1"));
            Expect("the node pings pod a", node.Ns.Exec("ping", "-c", "1", "-W", "2", ipA));
            Expect("pod a's port 80 from the node", Get(node.Ns, $"http://{ipA}/"), "hello from pod a");
            Expect("hostPort from the node (192.0.2.1:8080)", Get(node.Ns, "http://192.0.2.1:8080/"), "hello from pod a");
            Expect("hostPort from the node via localhost", Get(node.Ns, "http://127.0.0.1:8080/"), "hello from pod a");
            Expect("hostPort from another namespace", Get(world, "http://192.0.2.1:8080/"), "hello from pod a");
            Expect("hostPort from another pod", Get(podB.Ns, "http://192.0.2.1:8080/"), "hello from pod a");
            Expect("hostPort from the pod itself (hairpin)", Get(podA.Ns, "http://192.0.2.1:8080/"), "hello from pod a");
            Assert.True(failures.Count == 0, $"{set}: {failures.Count} connectivity checks failed:\n{string.Join('\n', failures)}");
        }
        finally
        {
            httpd.Kill();
            httpd.WaitForExit();
            Libcni.Del(node, net, a);
            Libcni.Del(node, net, b);
        }
    }

    /// <summary>100 ADDs at once on one node, then 100 DELs: distinct addresses, no error, nothing left.</summary>
    [RootFact]
    public void SeedConflist_Parallel100AddsThenDels_DistinctAddressesNothingLeft()
    {
        const int N = 100;
        PluginDirs.EnsurePresent(PluginSet.Ours, OurChain);
        using Run run = new(PluginSet.Ours);
        NetworkList net = Network(run);
        Attachment[] pods = [.. Enumerable.Range(0, N).Select(i => new Attachment($"ctr-{i:D3}", run.Node.Pod($"{i:D3}"))
        {
            CapabilityArgs = Configs.PortMappings((10000 + i, 80, "tcp", null)),
        })];
        ConcurrentBag<string> errors = [];
        void All(string what, Func<Attachment, CniOutcome> op) =>
            Parallel.ForEach(pods, new ParallelOptions { MaxDegreeOfParallelism = N }, p =>
            {
                CniOutcome o = op(p);
                if (!o.Ok)
                {
                    errors.Add($"{what} {p.ContainerId}: {o}");
                }
            });

        All("ADD", p => Libcni.Add(run.Node, net, p));
        Assert.True(errors.IsEmpty, string.Join('\n', errors.Take(10)));
        string[] ips = [.. pods.Select(p => PodIp(p.Cached))];
        Assert.Equal(N, ips.Distinct().Count());
        Assert.All(ips, ip => Assert.StartsWith("10.244.3.", ip, StringComparison.Ordinal));

        All("DEL", p => Libcni.Del(run.Node, net, p));
        Assert.True(errors.IsEmpty, string.Join('\n', errors.Take(10)));
        string[] state = [.. StateProbe.Node(run.Node, run.Norm)];
        Assert.DoesNotContain(state, l => l.Contains("kind=veth", StringComparison.Ordinal));
        Assert.DoesNotContain(state, l => l.Contains("CNI-DN-", StringComparison.Ordinal) || l.Contains("--dport 1", StringComparison.Ordinal));
        Assert.DoesNotContain(state, l => l.StartsWith("datadir vxlan0/10.", StringComparison.Ordinal));
        Assert.Empty(Directory.Exists(run.Node.FlannelDir) ? Directory.GetFiles(run.Node.FlannelDir) : []);
    }
}
