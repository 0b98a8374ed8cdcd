using System.Net;
using System.Text.Json.Nodes;
using Twill.Testing;

namespace Twill.KubeApi.Tests;

/// <summary>What etcd's history gives the API: 410 Expired after compaction, and restarts that lose nothing. Each test has its own etcd.</summary>
[Trait("Category", "Binary")]
public sealed class DurabilityTests
{
    [Fact]
    public async Task Watch_FromACompactedRevision_ErrorEvent410Expired_ThenTheStreamEnds()
    {
        using KubeApiServer server = KubeApiServer.Start();
        using ApiClient api = new(server.CreateHttpClient());
        JsonObject created = await api.CreateNodeAsync("n1");
        await api.PatchAsync("/api/v1/nodes/n1", """{"metadata":{"labels":{"a":"1"}}}""");
        await api.PatchAsync("/api/v1/nodes/n1", """{"metadata":{"labels":{"a":"2"}}}""");
        server.Etcd.Compact();

        await using WatchStream watch = await api.WatchAsync("resourceVersion=" + ApiClient.Rv(created));
        JsonObject error = await watch.NextAsync();
        Assert.Equal("ERROR", Events.Type(error));
        JsonObject status = Events.Object(error);
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal(410, status["code"]!.GetValue<int>());
        Assert.Equal("Expired", status["reason"]!.GetValue<string>());
        Assert.Empty(await watch.ReadToEndAsync(TimeSpan.FromSeconds(30)));
        Assert.True(watch.Ended);

        // A watch from the current revision is fine.
        JsonObject list = (await api.GetAsync("/api/v1/nodes")).Body;
        await using WatchStream fresh = await api.WatchAsync("resourceVersion=" + ApiClient.Rv(list));
        await api.PatchAsync("/api/v1/nodes/n1", """{"metadata":{"labels":{"a":"3"}}}""");
        Assert.Equal("MODIFIED", Events.Type(await fresh.NextChangeAsync()));
    }

    [Fact]
    public async Task List_ContinueTokenOrExactResourceVersionCompacted_410Expired()
    {
        using KubeApiServer server = KubeApiServer.Start();
        using ApiClient api = new(server.CreateHttpClient());
        for (int i = 0; i < 3; i++)
        {
            await api.CreateNodeAsync($"n{i}");
        }
        JsonObject first = (await api.GetAsync("/api/v1/nodes?limit=1")).Body;
        string token = first["metadata"]!["continue"]!.GetValue<string>();
        // Before compaction the token still works, at the first page's revision, after a write.
        await api.PatchAsync("/api/v1/nodes/n2", """{"metadata":{"labels":{"late":"yes"}}}""");
        JsonObject second = (await api.GetAsync("/api/v1/nodes?limit=1&continue=" + Uri.EscapeDataString(token))).Body;
        Assert.Equal(ApiClient.Rv(first), ApiClient.Rv(second));
        server.Etcd.Compact();

        (HttpStatusCode code, JsonObject status) = await api.GetAsync("/api/v1/nodes?limit=1&continue=" + Uri.EscapeDataString(token));
        Assert.Equal(HttpStatusCode.Gone, code);
        Assert.Equal("Expired", status["reason"]!.GetValue<string>());
        Assert.Contains("continue parameter is too old", status["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (HttpStatusCode exact, JsonObject exactStatus) = await api.GetAsync($"/api/v1/nodes?resourceVersion={ApiClient.Rv(first)}&resourceVersionMatch=Exact");
        Assert.Equal(HttpStatusCode.Gone, exact);
        Assert.Equal("Expired", exactStatus["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Restart_LosesNothing_AndAWatchFromAnOlderResourceVersionDeliversTheEventsInBetween()
    {
        using KubeApiServer server = KubeApiServer.Start();
        string before;
        using (ApiClient api = new(server.CreateHttpClient()))
        {
            await api.CreateNodeAsync("keep");
            before = ApiClient.Rv((await api.GetAsync("/api/v1/nodes")).Body);
            await api.PatchAsync("/api/v1/nodes/keep/status", """{"metadata":{"annotations":{"flannel.alpha.coreos.com/public-ip":"192.0.2.21"}}}""");
            await api.CreateNodeAsync("added");
            await api.OkAsync(HttpMethod.Delete, "/api/v1/nodes/added");
        }

        // A client's watch is open when SIGTERM comes: the stand-in ends it and exits cleanly, promptly.
        using ApiClient watcher = new(server.CreateHttpClient());
        WatchStream open = await watcher.WatchAsync("resourceVersion=" + before);
        System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        server.Stop();
        Assert.Equal(0, server.ExitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"SIGTERM took {clock.Elapsed}");
        await open.ReadToEndAsync(TimeSpan.FromSeconds(10));
        Assert.True(open.Ended);
        await open.DisposeAsync();
        // While the stand-in is down, a write straight into etcd (as another API server replica would make).
        server.Etcd.Etcdctl("put", "/registry/minions/offline", """{"kind":"Node","apiVersion":"v1","metadata":{"name":"offline","uid":"00000000-0000-0000-0000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z"}}""");
        server.Restart();

        using ApiClient after = new(server.CreateHttpClient());
        JsonObject keep = (await after.GetAsync("/api/v1/nodes/keep")).Body;
        Assert.Equal("192.0.2.21", keep["metadata"]!["annotations"]!["flannel.alpha.coreos.com/public-ip"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await after.GetAsync("/api/v1/nodes/offline")).Code);

        await using WatchStream watch = await after.WatchAsync("resourceVersion=" + before);
        List<string> seen = [];
        for (int i = 0; i < 4; i++)
        {
            JsonObject e = await watch.NextChangeAsync();
            seen.Add($"{Events.Type(e)} {Events.Name(e)}");
        }
        Assert.Equal(["MODIFIED keep", "ADDED added", "DELETED added", "ADDED offline"], seen);
    }

    [Fact]
    public async Task EtcdOverTlsWithClientCertificates_Works()
    {
        using EtcdServer etcd = EtcdServer.Start(tls: true);
        using KubeApiServer server = KubeApiServer.Start(etcd);
        using ApiClient api = new(server.CreateHttpClient());
        JsonObject created = await api.CreateNodeAsync("tls");
        Assert.Contains("/registry/minions/tls", etcd.Etcdctl("get", "/registry/minions/", "--prefix", "--keys-only"), StringComparison.Ordinal);
        Assert.Equal(ApiClient.Rv(created), ApiClient.Rv((await api.GetAsync("/api/v1/nodes/tls")).Body));
    }
}
