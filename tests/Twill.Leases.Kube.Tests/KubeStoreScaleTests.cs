using System.Diagnostics;
using System.Text;
using Twill.Leases.Store;
using Twill.Testing;
using Xunit.Abstractions;

namespace Twill.Leases.Kube.Tests;

/// <summary>
/// Many kubelet-sized nodes (~40 images each, about 10 KB of JSON) through the stand-in: the store keeps
/// what a lease needs, not the objects. Category=Binary (needs the stand-in); a few thousand nodes.
/// </summary>
[Trait("Category", "Binary")]
public sealed class KubeStoreScaleTests(ITestOutputHelper output)
{
    private const int Nodes = 2000;

    [Fact]
    public async Task List_ThousandsOfKubeletSizedNodes_AllInPages()
    {
        using KubeApiServer server = KubeApiServer.Start();
        using HttpClient http = server.CreateHttpClient();
        Stopwatch clock = Stopwatch.StartNew();
        string sample = NodeJson.Json("n0", NodeJson.Vxlan("192.0.2.1", "02:00:00:00:00:01"), ["10.244.1.0/24"], images: 40);
        await Parallel.ForEachAsync(Enumerable.Range(0, Nodes), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            string cidr = $"10.{(i / 256) + 1}.{i % 256}.0/24";
            string ip = $"198.51.{100 + (i / 256)}.{i % 256}";
            string mac = $"02:00:00:00:{i / 256:x2}:{i % 256:x2}";
            string json = NodeJson.Json($"n{i}", NodeJson.Vxlan(ip, mac), [cidr], rv: 0, images: 40);
            using StringContent body = new(json, Encoding.UTF8, "application/json");
            using HttpResponseMessage r = await http.PostAsync("api/v1/nodes", body, ct);
            Assert.True(r.IsSuccessStatusCode, $"POST node n{i}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync(ct)}");
        });
        output.WriteLine($"created {Nodes} nodes of {sample.Length} bytes in {clock.ElapsedMilliseconds} ms");

        await using KubeLeaseStore store = new(new KubeStoreOptions { KubeconfigFile = server.KubeconfigPath, NodeName = "n0" });
        clock.Restart();
        LeaseListing listing = await store.ListAsync(CancellationToken.None);
        output.WriteLine($"listed {listing.Records.Count} in {clock.ElapsedMilliseconds} ms, {Nodes / 250} pages");

        Assert.Equal(Nodes, listing.Records.Count);
        Assert.Equal(Nodes, listing.Records.Select(r => r.Key).Distinct().Count());
    }
}
