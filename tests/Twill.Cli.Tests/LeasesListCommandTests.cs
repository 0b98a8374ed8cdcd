using System.Text.Json;
using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Cli.Tests;

/// <summary><c>twill leases list</c> as a user runs it (the published binary, so <c>make build</c> first) against real stores.</summary>
[Trait("Category", "Binary")]
public sealed class LeasesListCommandTests : IDisposable
{
    private const string Lease3 = """{"PublicIP":"192.0.2.13","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"0a:00:00:00:00:03"}}""";
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-leases-list-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tool.Result Twill(params string[] args) => Tool.Run(TwillBinary.Path, args);

    private static JsonElement[] ListJson(params string[] storeArgs)
    {
        Tool.Result r = Twill(["leases", "list", "--json", .. storeArgs]);
        Assert.True(r.ExitCode == 0, $"twill leases list exited {r.ExitCode}: {r.Stderr}{r.Stdout}");
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        return [.. doc.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    [Fact]
    public async Task List_FileStore_LeasesAsJsonAndAnUnreadableOneNamed()
    {
        FileLeaseStore store = new(_dir);
        await using (store.ConfigureAwait(false))
        {
            await store.TryCreateAsync("10.244.3.0-24", Lease3, TimeSpan.FromHours(1), CancellationToken.None);
            await store.TryCreateAsync("10.244.4.0-24", "{not json", TimeSpan.FromHours(1), CancellationToken.None);
        }

        JsonElement[] leases = ListJson("--store-dir", _dir);

        Assert.Equal(["10.244.3.0-24", "10.244.4.0-24"], leases.Select(l => l.GetProperty("key").GetString()).Order(StringComparer.Ordinal));
        JsonElement good = leases.Single(l => l.GetProperty("key").GetString() == "10.244.3.0-24");
        Assert.Equal("10.244.3.0/24", good.GetProperty("subnet").GetString());
        Assert.Equal("192.0.2.13", good.GetProperty("publicIP").GetString());
        Assert.Equal(4096, good.GetProperty("vni").GetInt32());
        Assert.Equal("0a:00:00:00:00:03", good.GetProperty("vtepMAC").GetString());
        Assert.InRange(good.GetProperty("expiresInSeconds").GetInt64(), 3000, 3600);
        JsonElement bad = leases.Single(l => l.GetProperty("key").GetString() == "10.244.4.0-24");
        Assert.False(string.IsNullOrEmpty(bad.GetProperty("error").GetString()));
    }

    [Fact]
    public void List_MissingStoreDirectory_UsageErrorNamingIt()
    {
        string missing = Path.Combine(_dir, "nope");
        Tool.Result r = Twill("leases", "list", "--store-dir", missing);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(missing, r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing), "a listing must not create a store");
    }

    [Fact]
    public void List_EtcdEndpointsGiven_MeansTheEtcdStore()
    {
        using EtcdServer etcd = EtcdServer.Start();
        string grant = etcd.Etcdctl("lease", "grant", "3600").Split(' ')[1];
        etcd.Etcdctl("put", "--lease=" + grant, "/coreos.com/network/subnets/10.244.7.0-24", Lease3);

        // As with the agent (and flanneld): --etcd-endpoints alone selects etcd.
        JsonElement[] leases = ListJson("--etcd-endpoints", string.Join(',', etcd.ClientUrls));

        JsonElement lease = Assert.Single(leases);
        Assert.Equal("10.244.7.0/24", lease.GetProperty("subnet").GetString());
        Assert.Equal("192.0.2.13", lease.GetProperty("publicIP").GetString());

        Tool.Result conflict = Twill("leases", "list", "--store", "file", "--etcd-endpoints", etcd.ClientUrls[0]);
        Assert.Equal(2, conflict.ExitCode);
        Assert.Contains("contradict", conflict.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void List_KubeSubnetMgr_FlannelNodesWithoutExpiry_AndAWrongTokenRefused()
    {
        using KubeApiServer server = KubeApiServer.Start();
        foreach (string fixture in (string[])["node.linux-vxlan.json", "node.windows-vxlan.first.json", "node.linux-host-gw.json"])
        {
            server.Kubectl(["create", "-f", "-"], File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "flannel", fixture))).EnsureSuccess("kubectl create " + fixture);
        }
        server.Kubectl(["create", "-f", "-"], """{"apiVersion":"v1","kind":"Node","metadata":{"name":"kubelet-only"},"spec":{"podCIDR":"10.244.8.0/24"}}""").EnsureSuccess("kubectl create kubelet-only");

        JsonElement[] leases = ListJson("--kube-subnet-mgr", "--kubeconfig-file", server.KubeconfigPath);
        Tool.Result table = Twill("leases", "list", "--kube-subnet-mgr", "--kubeconfig-file", server.KubeconfigPath);

        // The Flannel nodes as leases (not the kubelet-only node); a Node has no TTL.
        Assert.Equal(["10.244.1.0-24", "10.244.2.0-24", "10.244.3.0-24"], leases.Select(l => l.GetProperty("key").GetString()));
        Assert.Equal(["12:c6:65:89:b4:e3", "", null], leases.Select(l => l.TryGetProperty("vtepMAC", out JsonElement m) ? m.GetString() : null));
        Assert.Equal(["vxlan", "vxlan", "host-gw"], leases.Select(l => l.GetProperty("backendType").GetString()));
        Assert.All(leases, l => Assert.Equal(JsonValueKind.Null, l.GetProperty("expiration").ValueKind));
        Assert.All(leases, l => Assert.Equal(JsonValueKind.Null, l.GetProperty("expiresInSeconds").ValueKind));
        Assert.True(table.ExitCode == 0, table.Stderr + table.Stdout);
        string[] rows = [.. table.Stdout.Split('\n').Where(l => l.Contains("10.244.", StringComparison.Ordinal))];
        Assert.Equal(3, rows.Length);
        Assert.All(rows, r => Assert.Contains("never", r, StringComparison.Ordinal));
        Assert.Contains("(none yet)", rows[1], StringComparison.Ordinal);
        Assert.Contains("3 lease(s) in kube:https://127.0.0.1:", table.Stdout, StringComparison.Ordinal);

        string bad = Path.Combine(_dir, "bad-kubeconfig");
        File.WriteAllText(bad, server.Kubeconfig(server.Url, "not-the-token"));
        Tool.Result refused = Twill("leases", "list", "--kube-subnet-mgr", "--kubeconfig-file", bad);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("twill leases list: cannot list leases in kube:https://127.0.0.1:", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("401", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains($"refused the credentials from kubeconfig {bad}", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void LeasesHelp_NamesEveryStore()
    {
        Tool.Result r = Twill("leases", "--help");

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("(file, etcd, kube)", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("--kube-subnet-mgr", Twill("leases", "list", "--help").Stdout, StringComparison.Ordinal);
    }
}
