using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twill.Testing;

namespace Twill.Cni.Tests;

/// <summary>The published plugins on the seed's conflist, in throw-away namespaces.</summary>
public class ChainTests
{
    private static string PodAddress(string result)
    {
        using JsonDocument d = JsonDocument.Parse(result);
        string a = d.RootElement.GetProperty("ips")[0].GetProperty("address").GetString()!;
        return a[..a.IndexOf('/', StringComparison.Ordinal)];
    }

    private static void AssertReach(TestNetns from, string url, string expected)
    {
        Tool.Result r = from.Exec("curl", "-s", "-m", "5", url);
        Assert.True(r.Stdout.Contains(expected, StringComparison.Ordinal), $"{from.Name} -> {url}: rc={r.ExitCode} '{r.Stdout}' {r.Stderr}");
    }

    [RootFact]
    public void SeedConflist_TwoPods_ReachEachOtherTheNodeAndTheHostPort()
    {
        using CniNode node = new();
        using TestNetns pod1 = new("pod1");
        using TestNetns pod2 = new("pod2");
        using TestNetns outside = new("out");
        // An underlay link node <-> outside (192.0.2.0/24) to reach the host port from another namespace.
        node.Ns.Ip("link", "add", "up0", "type", "veth", "peer", "name", "up1", "netns", outside.Name);
        node.Ns.Ip("addr", "add", "192.0.2.1/24", "dev", "up0");
        node.Ns.Ip("link", "set", "up0", "up");
        outside.Ip("addr", "add", "192.0.2.2/24", "dev", "up1");
        outside.Ip("link", "set", "up1", "up");

        string conflist = node.SeedConflist();
        JsonArray ports = [new JsonObject { ["hostPort"] = 8080, ["containerPort"] = 80, ["protocol"] = "tcp" }];
        string r1 = node.AddList(conflist, "pod1", pod1.Path, ports);
        string r2 = node.AddList(conflist, "pod2", pod2.Path);
        string ip1 = PodAddress(r1), ip2 = PodAddress(r2);
        Assert.Equal("10.244.3.2", ip1);
        Assert.Equal("10.244.3.3", ip2);

        Assert.Equal(0, pod1.Exec("ping", "-c1", "-W2", ip2).ExitCode);
        Assert.Equal(0, pod1.Exec("ping", "-c1", "-W2", "10.244.3.1").ExitCode);
        Assert.Equal(0, node.Ns.Exec("ping", "-c1", "-W2", ip1).ExitCode);

        string www = Path.Combine(node.State.Path, "www");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"), "hello from pod1");
        Assert.Equal(0, pod1.Exec("busybox", "httpd", "-p", "80", "-h", www).ExitCode);
        Thread.Sleep(200);

        AssertReach(node.Ns, $"http://{ip1}/", "hello from pod1");
        AssertReach(node.Ns, "http://10.244.3.1:8080/", "hello from pod1");   // node -> hostPort
        AssertReach(node.Ns, "http://127.0.0.1:8080/", "hello from pod1");    // localhost (route_localnet)
        AssertReach(pod2, "http://10.244.3.1:8080/", "hello from pod1");      // another pod
        AssertReach(pod1, "http://10.244.3.1:8080/", "hello from pod1");      // hairpin
        AssertReach(outside, "http://192.0.2.1:8080/", "hello from pod1");    // another namespace

        node.DelList(conflist, "pod1", pod1.Path, r1, ports);
        node.DelList(conflist, "pod2", pod2.Path, r2);
        node.DelList(conflist, "pod2", pod2.Path, r2); // DEL twice: still fine

        JsonElement links = node.Ns.IpJson("link", "show", "type", "veth");
        Assert.Equal(["up0"], links.EnumerateArray().Select(l => l.GetProperty("ifname").GetString()!));
        Assert.DoesNotContain("eth0", pod1.IpJson("link", "show").EnumerateArray().Select(l => l.GetProperty("ifname").GetString()));
        Assert.Empty(Directory.GetFiles(node.IpamDir, "10.244.*"));
        Assert.Empty(Directory.GetFiles(node.FlannelDir));
        string nat = node.Ns.Exec("iptables-save", "-t", "nat").Stdout;
        Assert.DoesNotContain("CNI-DN-", nat, StringComparison.Ordinal);
        Assert.DoesNotContain("vxlan0", nat, StringComparison.Ordinal);
    }

    [RootFact]
    public void SeedConflist_HundredParallelAdds_GetDistinctAddressesAndDelsLeaveNothing()
    {
        const int n = 100;
        using CniNode node = new();
        List<TestNetns> pods = [];
        try
        {
            for (int i = 0; i < n; i++)
            {
                pods.Add(new TestNetns("p" + i));
            }
            string conflist = node.SeedConflist();
            ConcurrentDictionary<int, string> results = new();
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 100 }, i =>
            {
                JsonArray ports = [new JsonObject { ["hostPort"] = 9000 + i, ["containerPort"] = 80, ["protocol"] = "tcp" }];
                results[i] = node.AddList(conflist, "ctr" + i, pods[i].Path, ports);
            });
            List<string> addresses = [.. results.Values.Select(PodAddress)];
            Assert.Equal(n, addresses.Distinct().Count());
            Assert.Equal(n, node.Ns.IpJson("link", "show", "type", "veth").GetArrayLength());
            Assert.Equal(n, Directory.GetFiles(node.IpamDir, "10.244.*").Length);

            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 100 }, i =>
            {
                JsonArray ports = [new JsonObject { ["hostPort"] = 9000 + i, ["containerPort"] = 80, ["protocol"] = "tcp" }];
                node.DelList(conflist, "ctr" + i, pods[i].Path, results[i], ports);
            });
            Assert.Equal(0, node.Ns.IpJson("link", "show", "type", "veth").GetArrayLength());
            Assert.Empty(Directory.GetFiles(node.IpamDir, "10.244.*"));
            Assert.Empty(Directory.GetFiles(node.FlannelDir));
            string nat = node.Ns.Exec("iptables-save", "-t", "nat").Stdout;
            Assert.DoesNotContain("CNI-DN-", nat, StringComparison.Ordinal);
        }
        finally
        {
            pods.ForEach(p => p.Dispose());
        }
    }

    [RootFact]
    public void Loopback_AddThenDel_BringsLoUpAndDown()
    {
        using CniNode node = new();
        using TestNetns pod = new("lo");
        pod.Ip("link", "set", "lo", "down");
        const string conf = """{"cniVersion":"1.0.0","name":"lo","type":"loopback"}""";
        Tool.Result add = node.Run("loopback", "ADD", conf, "c1", pod.Path, "lo");
        Assert.Equal(0, add.ExitCode);
        Assert.Contains("127.0.0.1/8", add.Stdout, StringComparison.Ordinal);
        Assert.Contains("UP", pod.IpJson("link", "show", "lo")[0].GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(0, node.Run("loopback", "DEL", conf, "c1", pod.Path, "lo").ExitCode);
        Assert.DoesNotContain("UP", pod.IpJson("link", "show", "lo")[0].GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(0, node.Run("loopback", "DEL", conf, "c1", "/var/run/netns/twill-gone", "lo").ExitCode);
    }

    [RootFact]
    public void Bridge_DelAfterNetnsGone_SucceedsAndReleasesAddress()
    {
        using CniNode node = new();
        string conflist = node.SeedConflist();
        string result;
        using (TestNetns pod = new("gone"))
        {
            result = node.AddList(conflist, "gone1", pod.Path);
        }
        node.DelList(conflist, "gone1", "/var/run/netns/twill-gone-for-good", result);
        Assert.Empty(Directory.GetFiles(node.IpamDir, "10.244.*"));
    }
}
