using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twill.Testing;

namespace Twill.KubeApi.Tests;

/// <summary>The node API's semantics over HTTPS, checked against what is in etcd.</summary>
[Trait("Category", "Binary")]
public sealed class NodeApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private KubeApiServer Server => fixture.Server;

    private ApiClient Client(string? token = "") => new(Server.CreateHttpClient(token));

    private static string Unique(string name) => $"{name}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>The key's value and mod revision as etcd holds them.</summary>
    private (JsonObject Value, long ModRevision) Etcd(string key)
    {
        using JsonDocument doc = JsonDocument.Parse(Server.Etcd.Etcdctl("get", key, "-w", "json"));
        JsonElement kv = doc.RootElement.GetProperty("kvs")[0];
        byte[] value = Convert.FromBase64String(kv.GetProperty("value").GetString()!);
        return ((JsonObject)JsonNode.Parse(value)!, kv.GetProperty("mod_revision").GetInt64());
    }

    [Fact]
    public async Task Create_StoresJsonAtRegistryMinions_WithUidTimestampAndModRevisionAsResourceVersion()
    {
        using ApiClient api = Client();
        string name = Unique("create");
        JsonObject created = await api.CreateNodeAsync(name, """{"kubernetes.io/os":"linux"}""", """{"podCIDR":"10.244.7.0/24"}""");

        (JsonObject stored, long modRevision) = Etcd("/registry/minions/" + name);
        Assert.Equal(modRevision.ToString(System.Globalization.CultureInfo.InvariantCulture), ApiClient.Rv(created));
        Assert.Equal("Node", stored["kind"]!.GetValue<string>());
        Assert.Equal("v1", stored["apiVersion"]!.GetValue<string>());
        Assert.Null(stored["metadata"]!["resourceVersion"]);
        Assert.True(Guid.TryParse(created["metadata"]!["uid"]!.GetValue<string>(), out _));
        Assert.Equal(created["metadata"]!["uid"]!.GetValue<string>(), stored["metadata"]!["uid"]!.GetValue<string>());
        DateTime ts = DateTime.Parse(created["metadata"]!["creationTimestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.InRange(ts, DateTime.UtcNow.AddMinutes(-2), DateTime.UtcNow.AddMinutes(1));
        // The v1 conversion primes podCIDRs from podCIDR.
        Assert.Equal("10.244.7.0/24", created["spec"]!["podCIDRs"]![0]!.GetValue<string>());

        (HttpStatusCode code, JsonObject got) = await api.GetAsync("/api/v1/nodes/" + name);
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(ApiClient.Rv(created), ApiClient.Rv(got));
    }

    [Fact]
    public async Task Create_Existing_409AlreadyExistsStatus()
    {
        using ApiClient api = Client();
        string name = Unique("dup");
        await api.CreateNodeAsync(name);
        (HttpStatusCode code, JsonObject status) = await api.SendAsync(HttpMethod.Post, "/api/v1/nodes", $$$"""{"metadata":{"name":"{{{name}}}"}}""");
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal("Failure", status["status"]!.GetValue<string>());
        Assert.Equal("AlreadyExists", status["reason"]!.GetValue<string>());
        Assert.Equal(409, status["code"]!.GetValue<int>());
        Assert.Equal($"nodes \"{name}\" already exists", status["message"]!.GetValue<string>());
        Assert.Equal(name, status["details"]!["name"]!.GetValue<string>());
        Assert.Equal("nodes", status["details"]!["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task Get_Missing_404NotFoundStatus()
    {
        using ApiClient api = Client();
        (HttpStatusCode code, JsonObject status) = await api.GetAsync("/api/v1/nodes/nope-" + Guid.NewGuid().ToString("N")[..6]);
        Assert.Equal(HttpStatusCode.NotFound, code);
        Assert.Equal("NotFound", status["reason"]!.GetValue<string>());
        Assert.Equal(404, status["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Create_InvalidName_422InvalidWithCause()
    {
        using ApiClient api = Client();
        (HttpStatusCode code, JsonObject status) = await api.SendAsync(HttpMethod.Post, "/api/v1/nodes", """{"metadata":{"name":"Bad_Name"}}""");
        Assert.Equal((HttpStatusCode)422, code);
        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        Assert.Equal("metadata.name", status["details"]!["causes"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Update_StaleResourceVersion_409Conflict_CurrentOneSucceeds_StatusKept()
    {
        using ApiClient api = Client();
        string name = Unique("update");
        JsonObject created = await api.CreateNodeAsync(name);
        await api.PatchAsync($"/api/v1/nodes/{name}/status", """{"status":{"conditions":[{"type":"Ready","status":"True"}]}}""");
        JsonObject current = (await api.GetAsync("/api/v1/nodes/" + name)).Body;

        JsonObject stale = (JsonObject)created.DeepClone();
        stale["metadata"]!["labels"] = new JsonObject { ["x"] = "1" };
        (HttpStatusCode code, JsonObject status) = await api.SendAsync(HttpMethod.Put, "/api/v1/nodes/" + name, stale.ToJsonString());
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal("Conflict", status["reason"]!.GetValue<string>());
        Assert.Contains("the object has been modified", status["message"]!.GetValue<string>(), StringComparison.Ordinal);

        JsonObject fresh = (JsonObject)current.DeepClone();
        fresh["metadata"]!["labels"] = new JsonObject { ["x"] = "2" };
        fresh["status"] = new JsonObject { ["phase"] = "ignored" };
        JsonObject updated = await api.OkAsync(HttpMethod.Put, "/api/v1/nodes/" + name, fresh.ToJsonString());
        Assert.Equal("2", updated["metadata"]!["labels"]!["x"]!.GetValue<string>());
        Assert.True(ApiClient.RvNumber(updated) > ApiClient.RvNumber(current));
        // An update of the main resource keeps the status (nodeStrategy.PrepareForUpdate).
        Assert.Equal("Ready", updated["status"]!["conditions"]![0]!["type"]!.GetValue<string>());
        Assert.Null(updated["status"]!["phase"]);
    }

    [Fact]
    public async Task StatusPatch_Merge_ChangesStatusAndAnnotations_NotSpec()
    {
        using ApiClient api = Client();
        string name = Unique("status");
        await api.CreateNodeAsync(name, spec: """{"podCIDR":"10.244.8.0/24"}""");
        JsonObject patched = await api.PatchAsync($"/api/v1/nodes/{name}/status",
            """{"metadata":{"annotations":{"flannel.alpha.coreos.com/public-ip":"192.0.2.8"}},"spec":{"unschedulable":true},"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","reason":"FlannelIsUp"}]}}""");
        Assert.Equal("192.0.2.8", patched["metadata"]!["annotations"]!["flannel.alpha.coreos.com/public-ip"]!.GetValue<string>());
        Assert.Null(patched["spec"]!["unschedulable"]);
        Assert.Equal("FlannelIsUp", patched["status"]!["conditions"]![0]!["reason"]!.GetValue<string>());
        Assert.Equal("192.0.2.8", Etcd("/registry/minions/" + name).Value["metadata"]!["annotations"]!["flannel.alpha.coreos.com/public-ip"]!.GetValue<string>());

        // And the main resource ignores status.
        JsonObject main = await api.PatchAsync("/api/v1/nodes/" + name, """{"spec":{"unschedulable":true},"status":{"conditions":[]}}""");
        Assert.True(main["spec"]!["unschedulable"]!.GetValue<bool>());
        Assert.Single(main["status"]!["conditions"]!.AsArray());
    }

    [Fact]
    public async Task StatusPatch_Strategic_MergesConditionsByType_AndPodCidrsAsASet()
    {
        using ApiClient api = Client();
        string name = Unique("smp");
        await api.CreateNodeAsync(name);
        await api.PatchAsync($"/api/v1/nodes/{name}/status", """{"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"NetworkUnavailable","status":"True"}]}}""");
        JsonObject patched = await api.PatchAsync($"/api/v1/nodes/{name}/status",
            """{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","reason":"FlannelIsUp"}]}}""", "application/strategic-merge-patch+json");
        JsonArray conditions = patched["status"]!["conditions"]!.AsArray();
        Assert.Equal(2, conditions.Count);
        Assert.Equal("True", conditions.Single(c => c!["type"]!.GetValue<string>() == "Ready")!["status"]!.GetValue<string>());
        Assert.Equal("False", conditions.Single(c => c!["type"]!.GetValue<string>() == "NetworkUnavailable")!["status"]!.GetValue<string>());

        JsonObject dual = await api.PatchAsync("/api/v1/nodes/" + name, """{"spec":{"podCIDRs":["10.244.9.0/24","fd00:10:244:9::/64"]}}""", "application/strategic-merge-patch+json");
        Assert.Equal("10.244.9.0/24", dual["spec"]!["podCIDR"]!.GetValue<string>());
        // podCIDRs merge as a set: naming one again keeps both (a merge patch would replace the list, and be refused).
        JsonObject again = await api.PatchAsync("/api/v1/nodes/" + name, """{"spec":{"podCIDRs":["10.244.9.0/24"]}}""", "application/strategic-merge-patch+json");
        Assert.Equal(["10.244.9.0/24", "fd00:10:244:9::/64"], again["spec"]!["podCIDRs"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(ApiClient.Rv(dual), ApiClient.Rv(again));

        // podCIDRs, once set, are immutable (ValidateNodeUpdate).
        (HttpStatusCode code, JsonObject status) = await api.SendAsync(HttpMethod.Patch, "/api/v1/nodes/" + name, """{"spec":{"podCIDR":"10.244.10.0/24","podCIDRs":["10.244.10.0/24"]}}""", "application/merge-patch+json");
        Assert.Equal((HttpStatusCode)422, code);
        Assert.Contains("spec.podCIDRs", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPatch_JsonPatch_Applies_FailedTestIs422_MalformedIs400_UnknownTypeIs415()
    {
        using ApiClient api = Client();
        string name = Unique("jsonpatch");
        await api.CreateNodeAsync(name);
        JsonObject patched = await api.PatchAsync($"/api/v1/nodes/{name}/status",
            """[{"op":"add","path":"/metadata/annotations","value":{}},{"op":"add","path":"/metadata/annotations/a~1b","value":"1"},{"op":"add","path":"/status","value":{"conditions":[]}},{"op":"add","path":"/status/conditions/-","value":{"type":"Ready","status":"True"}}]""",
            "application/json-patch+json");
        Assert.Equal("1", patched["metadata"]!["annotations"]!["a/b"]!.GetValue<string>());
        Assert.Equal("Ready", patched["status"]!["conditions"]![0]!["type"]!.GetValue<string>());

        (HttpStatusCode failed, _) = await api.SendAsync(HttpMethod.Patch, $"/api/v1/nodes/{name}/status", """[{"op":"test","path":"/metadata/annotations/a~1b","value":"2"}]""", "application/json-patch+json");
        Assert.Equal((HttpStatusCode)422, failed);
        (HttpStatusCode malformed, JsonObject bad) = await api.SendAsync(HttpMethod.Patch, $"/api/v1/nodes/{name}", """{"op":"add"}""", "application/json-patch+json");
        Assert.Equal(HttpStatusCode.BadRequest, malformed);
        Assert.Equal("BadRequest", bad["reason"]!.GetValue<string>());
        (HttpStatusCode unsupported, _) = await api.SendAsync(HttpMethod.Patch, $"/api/v1/nodes/{name}", "{}", "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, unsupported);
    }

    [Fact]
    public async Task Patch_ThatChangesNothing_KeepsTheResourceVersion()
    {
        using ApiClient api = Client();
        string name = Unique("noop");
        JsonObject created = await api.CreateNodeAsync(name, """{"a":"1"}""");
        JsonObject same = await api.PatchAsync("/api/v1/nodes/" + name, """{"metadata":{"labels":{"a":"1"}}}""");
        Assert.Equal(ApiClient.Rv(created), ApiClient.Rv(same));
    }

    [Fact]
    public async Task Patch_WithStaleResourceVersion_409Conflict()
    {
        using ApiClient api = Client();
        string name = Unique("patchrv");
        JsonObject created = await api.CreateNodeAsync(name);
        await api.PatchAsync("/api/v1/nodes/" + name, """{"metadata":{"labels":{"a":"1"}}}""");
        (HttpStatusCode code, _) = await api.SendAsync(HttpMethod.Patch, "/api/v1/nodes/" + name, "{\"metadata\":{\"resourceVersion\":\"" + ApiClient.Rv(created) + "\",\"labels\":{\"a\":\"2\"}}}", "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.Conflict, code);
    }

    [Fact]
    public async Task Delete_ReturnsSuccessStatus_ThenNotFound_AndTheKeyIsGone()
    {
        using ApiClient api = Client();
        string name = Unique("delete");
        JsonObject created = await api.CreateNodeAsync(name);
        JsonObject status = await api.OkAsync(HttpMethod.Delete, "/api/v1/nodes/" + name);
        Assert.Equal("Success", status["status"]!.GetValue<string>());
        Assert.Equal(created["metadata"]!["uid"]!.GetValue<string>(), status["details"]!["uid"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/api/v1/nodes/" + name)).Code);
        Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(HttpMethod.Delete, "/api/v1/nodes/" + name)).Code);
        Assert.DoesNotContain("/registry/minions/" + name, Server.Etcd.Etcdctl("get", "/registry/minions/", "--prefix", "--keys-only"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_PagesWithLimitAndContinue_AtOneResourceVersion_AndFiltersByLabel()
    {
        using ApiClient api = Client();
        string group = Guid.NewGuid().ToString("N")[..6];
        for (int i = 0; i < 5; i++)
        {
            await api.CreateNodeAsync($"page-{group}-{i}", $$"""{"group":"{{group}}","parity":"{{(i % 2 == 0 ? "even" : "odd")}}"}""");
        }
        List<string> names = [];
        string? token = null;
        string? listRv = null;
        int pages = 0;
        do
        {
            string query = $"/api/v1/nodes?limit=2&labelSelector=group%3D{group}" + (token is null ? "" : "&continue=" + Uri.EscapeDataString(token));
            JsonObject page = (await api.GetAsync(query)).Body;
            Assert.Equal("NodeList", page["kind"]!.GetValue<string>());
            listRv ??= ApiClient.Rv(page);
            Assert.Equal(listRv, ApiClient.Rv(page));
            JsonArray items = page["items"]!.AsArray();
            Assert.InRange(items.Count, 1, 2);
            names.AddRange(items.Select(n => n!["metadata"]!["name"]!.GetValue<string>()));
            token = page["metadata"]!["continue"]?.GetValue<string>();
            pages++;
        }
        while (token is not null);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"page-{group}-{i}"), names);
        Assert.Equal(3, pages);

        JsonObject odd = (await api.GetAsync($"/api/v1/nodes?labelSelector=group%3D{group},parity%20in%20(odd)")).Body;
        Assert.Equal([$"page-{group}-1", $"page-{group}-3"], odd["items"]!.AsArray().Select(n => n!["metadata"]!["name"]!.GetValue<string>()));
        JsonObject notEven = (await api.GetAsync($"/api/v1/nodes?labelSelector=group%3D{group},parity!%3Deven")).Body;
        Assert.Equal(2, notEven["items"]!.AsArray().Count);
        JsonObject byName = (await api.GetAsync($"/api/v1/nodes?fieldSelector=metadata.name%3Dpage-{group}-4")).Body;
        Assert.Equal($"page-{group}-4", byName["items"]![0]!["metadata"]!["name"]!.GetValue<string>());

        // Without a selector the first page says how many remain.
        JsonObject first = (await api.GetAsync("/api/v1/nodes?limit=1")).Body;
        Assert.True(first["metadata"]!["remainingItemCount"]!.GetValue<long>() >= 4);
    }

    [Fact]
    public async Task List_ResourceVersionIsTheEtcdRevisionOfTheRead()
    {
        using ApiClient api = Client();
        await api.CreateNodeAsync(Unique("listrv"));
        JsonObject list = (await api.GetAsync("/api/v1/nodes")).Body;
        Assert.Equal(Server.Etcd.Revision(), ApiClient.RvNumber(list));
    }

    [Fact]
    public async Task Continue_Garbled_400BadRequest()
    {
        using ApiClient api = Client();
        (HttpStatusCode code, JsonObject status) = await api.GetAsync("/api/v1/nodes?limit=1&continue=not-a-token");
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("continue key is not valid", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_FromResourceVersion_DeliversAddedModifiedDeleted_InOrder()
    {
        using ApiClient api = Client();
        string name = Unique("watch");
        JsonObject list = (await api.GetAsync("/api/v1/nodes")).Body;
        await using WatchStream watch = await api.WatchAsync("resourceVersion=" + ApiClient.Rv(list) + "&fieldSelector=metadata.name%3D" + name);
        JsonObject created = await api.CreateNodeAsync(name);
        JsonObject patched = await api.PatchAsync("/api/v1/nodes/" + name, """{"metadata":{"annotations":{"k":"v"}}}""");
        await api.OkAsync(HttpMethod.Delete, "/api/v1/nodes/" + name);

        JsonObject added = await watch.NextChangeAsync();
        Assert.Equal("ADDED", Events.Type(added));
        Assert.Equal(ApiClient.Rv(created), ApiClient.Rv(Events.Object(added)));
        Assert.Equal("Node", Events.Object(added)["kind"]!.GetValue<string>());
        JsonObject modified = await watch.NextChangeAsync();
        Assert.Equal("MODIFIED", Events.Type(modified));
        Assert.Equal(ApiClient.Rv(patched), ApiClient.Rv(Events.Object(modified)));
        JsonObject deleted = await watch.NextChangeAsync();
        Assert.Equal("DELETED", Events.Type(deleted));
        Assert.True(ApiClient.RvNumber(Events.Object(deleted)) > ApiClient.RvNumber(patched), "a DELETED event carries the revision of the deletion");
        Assert.Equal("v", Events.Object(deleted)["metadata"]!["annotations"]!["k"]!.GetValue<string>());
    }

    [Fact]
    public async Task Watch_OfOneNamedNode_OnlyItsEvents()
    {
        using ApiClient api = Client();
        string name = Unique("named");
        string other = Unique("other");
        JsonObject created = await api.CreateNodeAsync(name);
        await api.CreateNodeAsync(other);
        using HttpRequestMessage request = new(HttpMethod.Get, $"/api/v1/nodes/{name}?watch=true&resourceVersion={ApiClient.Rv(created)}");
        HttpResponseMessage response = await api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using WatchStream watch = new(request, response);
        await api.PatchAsync("/api/v1/nodes/" + other, """{"metadata":{"labels":{"x":"1"}}}""");
        await api.PatchAsync("/api/v1/nodes/" + name, """{"metadata":{"labels":{"x":"1"}}}""");
        JsonObject e = await watch.NextChangeAsync();
        Assert.Equal(("MODIFIED", name), (Events.Type(e), Events.Name(e)));
    }

    [Fact]
    public async Task Watch_WithoutResourceVersion_StartsWithTheCurrentStateAsAdded()
    {
        using ApiClient api = Client();
        string group = Guid.NewGuid().ToString("N")[..6];
        await api.CreateNodeAsync($"initial-{group}-a", $$"""{"group":"{{group}}"}""");
        await api.CreateNodeAsync($"initial-{group}-b", $$"""{"group":"{{group}}"}""");
        await using WatchStream watch = await api.WatchAsync($"labelSelector=group%3D{group}");
        Assert.Equal(["ADDED", "ADDED"], [Events.Type(await watch.NextChangeAsync()), Events.Type(await watch.NextChangeAsync())]);
    }

    [Fact]
    public async Task Watch_LabelSelector_ObjectLeavingTheSelectionIsDeleted_EnteringIsAdded()
    {
        using ApiClient api = Client();
        string name = Unique("selwatch");
        string group = Guid.NewGuid().ToString("N")[..6];
        JsonObject created = await api.CreateNodeAsync(name, $$"""{"group":"{{group}}"}""");
        await using WatchStream watch = await api.WatchAsync($"labelSelector=group%3D{group}&resourceVersion={ApiClient.Rv(created)}");
        await api.PatchAsync("/api/v1/nodes/" + name, """{"metadata":{"labels":{"group":"other"}}}""");
        await api.PatchAsync("/api/v1/nodes/" + name, "{\"metadata\":{\"labels\":{\"group\":\"" + group + "\"}}}");
        Assert.Equal("DELETED", Events.Type(await watch.NextChangeAsync()));
        Assert.Equal("ADDED", Events.Type(await watch.NextChangeAsync()));
    }

    [Fact]
    public async Task Watch_AllowWatchBookmarks_SendsBookmarksWithACurrentResourceVersion()
    {
        using ApiClient api = Client();
        JsonObject created = await api.CreateNodeAsync(Unique("bookmark"));
        await using WatchStream watch = await api.WatchAsync("allowWatchBookmarks=true&resourceVersion=" + ApiClient.Rv(created));
        JsonObject bookmark;
        do
        {
            bookmark = await watch.NextAsync();
        }
        while (Events.Type(bookmark) != "BOOKMARK");
        Assert.Equal("Node", Events.Object(bookmark)["kind"]!.GetValue<string>());
        Assert.True(ApiClient.RvNumber(Events.Object(bookmark)) >= ApiClient.RvNumber(created));
    }

    [Fact]
    public async Task Watch_SendInitialEvents_AddedThenABookmarkMarkingTheirEnd()
    {
        using ApiClient api = Client();
        string group = Guid.NewGuid().ToString("N")[..6];
        await api.CreateNodeAsync($"streamed-{group}", $$"""{"group":"{{group}}"}""");
        await using WatchStream watch = await api.WatchAsync($"labelSelector=group%3D{group}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true");
        Assert.Equal("ADDED", Events.Type(await watch.NextAsync()));
        JsonObject end = await watch.NextAsync();
        Assert.Equal("BOOKMARK", Events.Type(end));
        Assert.Equal("true", Events.Object(end)["metadata"]!["annotations"]!["k8s.io/initial-events-end"]!.GetValue<string>());

        (HttpStatusCode code, _) = await api.GetAsync("/api/v1/nodes?watch=1&sendInitialEvents=true");
        Assert.Equal((HttpStatusCode)422, code);
    }

    [Fact]
    public async Task Watch_TimeoutSeconds_EndsTheStream()
    {
        using ApiClient api = Client();
        JsonObject list = (await api.GetAsync("/api/v1/nodes")).Body;
        await using WatchStream watch = await api.WatchAsync("timeoutSeconds=1&resourceVersion=" + ApiClient.Rv(list));
        await watch.ReadToEndAsync(TimeSpan.FromSeconds(30));
        Assert.True(watch.Ended);
    }

    [Fact]
    public async Task Auth_MissingOrWrongToken_401UnauthorizedStatus_VersionIsPublic()
    {
        using ApiClient wrong = Client("not-the-token");
        (HttpStatusCode code, JsonObject status) = await wrong.GetAsync("/api/v1/nodes");
        Assert.Equal(HttpStatusCode.Unauthorized, code);
        Assert.Equal("Unauthorized", status["reason"]!.GetValue<string>());
        Assert.Equal(401, status["code"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/version")).Code);

        using ApiClient none = Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await none.GetAsync("/api/v1/nodes")).Code);
        Assert.Equal(HttpStatusCode.Unauthorized, (await none.SendAsync(HttpMethod.Post, "/api/v1/nodes", """{"metadata":{"name":"x"}}""")).Code);
        Assert.Equal(HttpStatusCode.OK, (await none.GetAsync("/version")).Code);

        using ApiClient plain = new(Server.CreateHttpClient(https: false));
        Assert.Equal(HttpStatusCode.OK, (await plain.GetAsync("/api/v1/nodes")).Code);
    }

    [Fact]
    public async Task Discovery_ListsNodesNodesStatusAndPods()
    {
        using ApiClient api = Client();
        JsonObject versions = (await api.GetAsync("/api")).Body;
        Assert.Equal("APIVersions", versions["kind"]!.GetValue<string>());
        JsonObject resources = (await api.GetAsync("/api/v1")).Body;
        string[] names = [.. resources["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>())];
        Assert.Contains("nodes", names);
        Assert.Contains("nodes/status", names);
        Assert.Contains("pods", names);
        JsonObject groups = (await api.GetAsync("/apis")).Body;
        Assert.Equal("APIGroupList", groups["kind"]!.GetValue<string>());
        Assert.Equal(["apps", "rbac.authorization.k8s.io"], groups["groups"]!.AsArray().Select(g => g!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        JsonObject apps = (await api.GetAsync("/apis/apps/v1")).Body;
        Assert.Equal("apps/v1", apps["groupVersion"]!.GetValue<string>());
        Assert.Contains("daemonsets", apps["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
        Assert.DoesNotContain("configmaps/status", names);
        Assert.Equal("1", (await api.GetAsync("/version")).Body["major"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pods_CreateGetListDelete_InANamespace()
    {
        using ApiClient api = Client();
        string name = Unique("pod");
        JsonObject pod = await api.OkAsync(HttpMethod.Post, "/api/v1/namespaces/kube-flannel/pods",
            $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}""");
        Assert.Equal("kube-flannel", pod["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("Pending", pod["status"]!["phase"]!.GetValue<string>());
        Assert.Contains("/registry/pods/kube-flannel/" + name, Server.Etcd.Etcdctl("get", "/registry/pods/", "--prefix", "--keys-only"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/api/v1/namespaces/kube-flannel/pods/{name}")).Code);
        Assert.Contains(name, (await api.GetAsync("/api/v1/pods")).Body.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(name, (await api.GetAsync("/api/v1/namespaces/other/pods")).Body.ToJsonString(), StringComparison.Ordinal);
        JsonObject deleted = await api.OkAsync(HttpMethod.Delete, $"/api/v1/namespaces/kube-flannel/pods/{name}");
        Assert.Equal("Pod", deleted["kind"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/namespaces/kube-flannel/pods/{name}")).Code);
        (HttpStatusCode invalid, _) = await api.SendAsync(HttpMethod.Post, "/api/v1/namespaces/kube-flannel/pods", """{"metadata":{"name":"nocontainers"},"spec":{}}""");
        Assert.Equal((HttpStatusCode)422, invalid);
    }
}
