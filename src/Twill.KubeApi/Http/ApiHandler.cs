using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Twill.KubeApi.Patching;
using Twill.KubeApi.Resources;
using Twill.KubeApi.Storage;

namespace Twill.KubeApi.Http;

/// <summary>
/// The REST surface: authentication, routing of /api/v1 paths to the registry stores, content
/// negotiation, watch streaming, and errors as Status objects in kube-apiserver's format.
/// </summary>
internal sealed partial class ApiHandler
{
    private const int MaxBodyBytes = 3 * 1024 * 1024;
    private static readonly byte[] s_newline = "\n"u8.ToArray();

    private readonly ServerOptions _options;
    private readonly TokenAuthenticator? _auth;
    /// <summary>Stores by group-version ("v1", "apps/v1", ...) then resource.</summary>
    private readonly Dictionary<string, Dictionary<string, RegistryStore>> _stores = new(StringComparer.Ordinal);
    private readonly CancellationToken _stopping;

    public ApiHandler(ServerOptions options, EtcdStorage etcd, TokenAuthenticator? auth, CancellationToken stopping)
    {
        _options = options;
        _auth = auth;
        _stopping = stopping;
        foreach (ResourceKind kind in new ResourceKind[] { Nodes.Instance, Pods.Instance }.Concat(GenericKind.ManifestKinds))
        {
            if (!_stores.TryGetValue(kind.ApiVersion, out Dictionary<string, RegistryStore>? group))
            {
                group = new Dictionary<string, RegistryStore>(StringComparer.Ordinal);
                _stores[kind.ApiVersion] = group;
            }
            group[kind.Resource] = new RegistryStore(etcd, options.EtcdPrefix, kind);
        }
    }

    public async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            await RouteAsync(ctx).ConfigureAwait(false);
        }
        catch (ApiError e)
        {
            await WriteErrorAsync(ctx, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            // The client went away, or we are stopping.
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && (ctx.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested))
        {
        }
        catch (RpcException e)
        {
            await WriteErrorAsync(ctx, ApiError.Internal("etcd: " + e.Status.Detail)).ConfigureAwait(false);
        }
    }

    private async Task RouteAsync(HttpContext ctx)
    {
        string path = ctx.Request.Path.Value ?? "/";
        string[] seg = path.Trim('/').Length == 0 ? [] : path.Trim('/').Split('/');
        bool publicInfo = seg.Length == 1 && seg[0] is "healthz" or "livez" or "readyz" or "version";
        Authenticate(ctx, publicInfo);

        if (seg.Length == 0)
        {
            await WriteJsonAsync(ctx, 200, Discovery.RootPaths(), "application/json").ConfigureAwait(false);
            return;
        }
        switch (seg[0])
        {
            case "healthz" or "livez" or "readyz" when seg.Length == 1:
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                await ctx.Response.WriteAsync("ok", ctx.RequestAborted).ConfigureAwait(false);
                return;
            case "version" when seg.Length == 1:
                await WriteJsonAsync(ctx, 200, Discovery.Version(), "application/json").ConfigureAwait(false);
                return;
            case "apis" when seg.Length == 1:
                await WriteJsonAsync(ctx, 200, Discovery.ApiGroupList(_stores.Keys.Where(gv => gv != "v1").Select(gv => gv.Split('/')[0])), "application/json").ConfigureAwait(false);
                return;
            case "apis" when seg.Length == 2 && _stores.ContainsKey(seg[1] + "/v1"):
                await WriteJsonAsync(ctx, 200, Discovery.ApiGroup(seg[1]), "application/json").ConfigureAwait(false);
                return;
            case "apis" when seg.Length == 3 && _stores.TryGetValue(seg[1] + "/" + seg[2], out Dictionary<string, RegistryStore>? groupStores):
                await WriteJsonAsync(ctx, 200, Discovery.ResourceList(seg[1] + "/" + seg[2], groupStores.Values.Select(s => s.Kind)), "application/json").ConfigureAwait(false);
                return;
            case "apis" when seg.Length >= 4 && _stores.TryGetValue(seg[1] + "/" + seg[2], out Dictionary<string, RegistryStore>? groupStores):
                await ResourceAsync(ctx, groupStores, seg[3..]).ConfigureAwait(false);
                return;
            case "api" when seg.Length == 1:
                await WriteJsonAsync(ctx, 200, Discovery.ApiVersions(ctx.Request.Host.Value ?? ""), "application/json").ConfigureAwait(false);
                return;
            case "api" when seg.Length == 2 && seg[1] == "v1":
                await WriteJsonAsync(ctx, 200, Discovery.ResourceList("v1", _stores["v1"].Values.Select(s => s.Kind)), "application/json").ConfigureAwait(false);
                return;
            case "openapi" when seg.Length == 2 && seg[1] == "v3":
                await WriteJsonAsync(ctx, 200, OpenApi.Root(_stores.Keys), "application/json").ConfigureAwait(false);
                return;
            case "openapi" when seg.Length == 4 && seg[1] == "v3" && seg[2] == "api" && seg[3] == "v1":
                await WriteJsonAsync(ctx, 200, OpenApi.GroupVersion("v1", _stores["v1"].Values.Select(s => s.Kind)), "application/json").ConfigureAwait(false);
                return;
            case "openapi" when seg.Length == 5 && seg[1] == "v3" && seg[2] == "apis" && _stores.TryGetValue(seg[3] + "/" + seg[4], out Dictionary<string, RegistryStore>? groupStores):
                await WriteJsonAsync(ctx, 200, OpenApi.GroupVersion(seg[3] + "/" + seg[4], groupStores.Values.Select(s => s.Kind)), "application/json").ConfigureAwait(false);
                return;
            case "api" when seg.Length >= 3 && seg[1] == "v1":
                await ResourceAsync(ctx, _stores["v1"], seg[2..]).ConfigureAwait(false);
                return;
            default:
                throw ApiError.NotFoundPath();
        }
    }

    private void Authenticate(HttpContext ctx, bool publicInfo)
    {
        if (_auth is null)
        {
            return;
        }
        string? header = ctx.Request.Headers.Authorization;
        // Without credentials a request is anonymous; kube-apiserver's default RBAC lets anonymous read only health and version.
        if (header is null && publicInfo)
        {
            return;
        }
        if (_auth.Authenticate(header) is null)
        {
            throw ApiError.Unauthorized();
        }
    }

    /// <summary>Routes what follows /api/v1: [watch/] [namespaces/NS/] RESOURCE [/NAME [/status]].</summary>
    private async Task ResourceAsync(HttpContext ctx, Dictionary<string, RegistryStore> stores, string[] seg)
    {
        bool legacyWatch = false;
        if (seg[0] == "watch")
        {
            legacyWatch = true;
            seg = seg[1..];
        }
        string ns = "";
        if (seg.Length >= 3 && seg[0] == "namespaces")
        {
            ns = seg[1];
            seg = seg[2..];
        }
        if (seg.Length == 0 || !stores.TryGetValue(seg[0], out RegistryStore? store) || seg.Length > 3 || (seg.Length == 3 && (seg[2] != "status" || !store.Kind.HasStatus)))
        {
            throw ApiError.NotFoundPath();
        }
        if (store.Kind.Namespaced != (ns.Length > 0) && !(store.Kind.Namespaced && seg.Length == 1 && ctx.Request.Method == "GET"))
        {
            throw ApiError.NotFoundPath();
        }
        string method = ctx.Request.Method;
        IQueryCollection q = ctx.Request.Query;
        bool dryRun = q["dryRun"].Any(v => v == "All");
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping);
        CancellationToken ct = linked.Token;

        if (seg.Length == 1)
        {
            bool watch = legacyWatch || Bool(q, "watch");
            switch (method)
            {
                case "GET" when watch:
                    await WatchAsync(ctx, store, ns, ct).ConfigureAwait(false);
                    return;
                case "GET":
                    await ListAsync(ctx, store, ns, ct).ConfigureAwait(false);
                    return;
                case "POST" when ns.Length > 0 || !store.Kind.Namespaced:
                    {
                        JsonObject body = await ReadObjectAsync(ctx).ConfigureAwait(false);
                        ValidateFields(ctx, store.Kind, body);
                        JsonObject created = await store.CreateAsync(ns, body, dryRun, ct).ConfigureAwait(false);
                        await WriteObjectAsync(ctx, 201, store.Kind, created).ConfigureAwait(false);
                        return;
                    }
                default:
                    throw ApiError.MethodNotAllowed();
            }
        }
        string name = seg[1];
        bool status = seg.Length == 3;
        if (legacyWatch || (method == "GET" && !status && Bool(q, "watch")))
        {
            // A watch of one object: kube-apiserver turns the name into a metadata.name field selector.
            if (status || method != "GET")
            {
                throw ApiError.NotFoundPath();
            }
            await WatchAsync(ctx, store, ns, ct, name).ConfigureAwait(false);
            return;
        }
        switch (method)
        {
            case "GET":
                await WriteObjectAsync(ctx, 200, store.Kind, await store.GetAsync(ns, name, ct).ConfigureAwait(false)).ConfigureAwait(false);
                return;
            case "PUT":
                {
                    JsonObject body = await ReadObjectAsync(ctx).ConfigureAwait(false);
                    ValidateFields(ctx, store.Kind, body);
                    string bodyName = Meta.Name(body);
                    if (bodyName != name)
                    {
                        throw ApiError.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
                    }
                    JsonObject updated = await store.UpdateAsync(ns, name, _ => body, status, dryRun, ct).ConfigureAwait(false);
                    await WriteObjectAsync(ctx, 200, store.Kind, updated).ConfigureAwait(false);
                    return;
                }
            case "PATCH":
                {
                    string contentType = (ctx.Request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
                    if (contentType is not (Patches.Merge or Patches.Strategic or Patches.Json))
                    {
                        throw ApiError.UnsupportedMediaType(contentType);
                    }
                    byte[] patch = await ReadBodyAsync(ctx).ConfigureAwait(false);
                    JsonObject updated = await store.UpdateAsync(ns, name, current =>
                    {
                        JsonObject patched = Patches.Apply(contentType, current, patch, store.Kind.MergeLists);
                        ValidateFields(ctx, store.Kind, patched);
                        return patched;
                    }, status, dryRun, ct).ConfigureAwait(false);
                    await WriteObjectAsync(ctx, 200, store.Kind, updated).ConfigureAwait(false);
                    return;
                }
            case "DELETE" when !status:
                {
                    (string? uid, string? rv) = await ReadPreconditionsAsync(ctx).ConfigureAwait(false);
                    JsonObject deleted = await store.DeleteAsync(ns, name, uid, rv, dryRun, ct).ConfigureAwait(false);
                    if (store.Kind == Pods.Instance)
                    {
                        // The pod registry returns the deleted object; the others a Success Status.
                        await WriteObjectAsync(ctx, 200, store.Kind, deleted).ConfigureAwait(false);
                        return;
                    }
                    JsonObject success = new()
                    {
                        ["kind"] = "Status",
                        ["apiVersion"] = "v1",
                        ["metadata"] = new JsonObject(),
                        ["status"] = "Success",
                        ["details"] = new JsonObject { ["name"] = name, ["kind"] = store.Kind.Resource, ["uid"] = Meta.Str(Meta.Metadata(deleted), "uid") },
                    };
                    await WriteJsonAsync(ctx, 200, success, "application/json").ConfigureAwait(false);
                    return;
                }
            default:
                throw ApiError.MethodNotAllowed();
        }
    }

    /// <summary>The fieldValidation parameter: Strict rejects unknown fields (400), Warn (the default) answers with Warning headers.</summary>
    private static void ValidateFields(HttpContext ctx, ResourceKind kind, JsonObject obj)
    {
        string mode = ctx.Request.Query["fieldValidation"].FirstOrDefault() ?? "Warn";
        if (mode is not ("Strict" or "Warn" or "Ignore"))
        {
            throw ApiError.BadRequest($"fieldValidation: Unsupported value: \"{mode}\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
        }
        if (mode == "Ignore")
        {
            return;
        }
        List<string> unknown = KnownFields.Unknown(kind, obj);
        if (unknown.Count == 0)
        {
            return;
        }
        if (mode == "Strict")
        {
            throw ApiError.BadRequest("strict decoding error: " + string.Join(", ", unknown.Select(f => $"unknown field \"{f}\"")));
        }
        if (!ctx.Response.HasStarted)
        {
            foreach (string f in unknown)
            {
                ctx.Response.Headers.Append("Warning", $"299 - \"unknown field \\\"{f}\\\"\"");
            }
        }
    }

    private static string IncludeObject(HttpContext ctx) => ctx.Request.Query["includeObject"].FirstOrDefault() ?? "Metadata";

    private static ListOptions ListOptionsOf(HttpContext ctx, ResourceKind kind, string? name = null)
    {
        IQueryCollection q = ctx.Request.Query;
        long limit = 0;
        if (q["limit"].FirstOrDefault() is { Length: > 0 } l && (!long.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit)))
        {
            throw ApiError.BadRequest($"limit: Invalid value: \"{l}\": must be a non-negative integer");
        }
        return new ListOptions(
            LabelSelector.Parse(q["labelSelector"].FirstOrDefault()),
            FieldSelector.Parse(name is null ? q["fieldSelector"].FirstOrDefault() : string.Join(',', new[] { q["fieldSelector"].FirstOrDefault(), "metadata.name=" + name }.Where(f => !string.IsNullOrEmpty(f))), kind),
            limit,
            q["continue"].FirstOrDefault(),
            q["resourceVersion"].FirstOrDefault(),
            q["resourceVersionMatch"].FirstOrDefault());
    }

    private static async Task ListAsync(HttpContext ctx, RegistryStore store, string ns, CancellationToken ct)
    {
        Negotiated n = Negotiated.FromAccept(ctx.Request.Headers.Accept);
        JsonObject list = await store.ListAsync(ns, ListOptionsOf(ctx, store.Kind), ct).ConfigureAwait(false);
        JsonObject body = list;
        if (n.Rendering != Rendering.Object)
        {
            JsonObject[] items = [.. ((JsonArray)list["items"]!).OfType<JsonObject>()];
            JsonObject meta = (JsonObject)list["metadata"]!;
            body = n.Rendering == Rendering.Table
                ? Tables.Table(store.Kind, n.MetaVersion, items, meta, IncludeObject(ctx))
                : Tables.PartialObjectMetadataList(items, meta, n.MetaVersion);
        }
        await WriteJsonAsync(ctx, 200, body, n.ContentType).ConfigureAwait(false);
    }

    /// <summary>A watch: a chunked stream of newline-delimited {"type","object"} events, each flushed as it happens.</summary>
    private async Task WatchAsync(HttpContext ctx, RegistryStore store, string ns, CancellationToken ct, string? name = null)
    {
        IQueryCollection q = ctx.Request.Query;
        Negotiated n = Negotiated.FromAccept(ctx.Request.Headers.Accept);
        ListOptions selection = ListOptionsOf(ctx, store.Kind, name);
        TimeSpan timeout;
        if (q["timeoutSeconds"].FirstOrDefault() is { Length: > 0 } t)
        {
            timeout = long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)
                ? TimeSpan.FromSeconds(seconds)
                : throw ApiError.BadRequest($"timeoutSeconds: Invalid value: \"{t}\": must be a non-negative integer");
        }
        else
        {
            timeout = _options.MinRequestTimeout * (1 + Random.Shared.NextDouble());
        }
        bool sendInitial = Bool(q, "sendInitialEvents");
        if (sendInitial && (selection.ResourceVersionMatch != "NotOlderThan" || !Bool(q, "allowWatchBookmarks")))
        {
            throw ApiError.Invalid("ListOptions", "", [FieldError.Forbidden("sendInitialEvents", "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan and allowWatchBookmarks is true")]);
        }
        WatchOptions options = new(selection, selection.ResourceVersion, Bool(q, "allowWatchBookmarks"), _options.WatchBookmarkInterval, sendInitial);
        RegistryStore.ParseResourceVersion(options.ResourceVersion);

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = n.ContentType;
        ctx.Response.Headers.CacheControl = "no-cache, private";
        await ctx.Response.StartAsync(ct).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);

        using CancellationTokenSource life = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout > TimeSpan.Zero)
        {
            life.CancelAfter(timeout);
        }
        try
        {
            await store.WatchAsync(ns, options, async (e, token) =>
            {
                JsonObject obj = e.Object;
                if (n.Rendering == Rendering.Table && e.Type is not ("ERROR" or "BOOKMARK"))
                {
                    obj = Tables.Table(store.Kind, n.MetaVersion, [obj], new JsonObject { ["resourceVersion"] = Meta.ResourceVersion(obj) }, IncludeObject(ctx));
                }
                else if (n.Rendering == Rendering.PartialObjectMetadata && e.Type is not "ERROR")
                {
                    obj = Tables.PartialObjectMetadata(obj, n.MetaVersion);
                }
                JsonObject ev = new() { ["type"] = e.Type, ["object"] = obj };
                byte[] bytes = Encoding.UTF8.GetBytes(ev.ToJsonString(Json.Options));
                await ctx.Response.Body.WriteAsync(bytes, token).ConfigureAwait(false);
                await ctx.Response.Body.WriteAsync(s_newline, token).ConfigureAwait(false);
                await ctx.Response.Body.FlushAsync(token).ConfigureAwait(false);
            }, life.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (life.IsCancellationRequested)
        {
            // timeoutSeconds reached, the client left, or the server is stopping: the stream just ends.
        }
        catch (RpcException) when (life.IsCancellationRequested)
        {
        }
        catch (IOException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
    }

    private static bool Bool(IQueryCollection q, string name) =>
        q[name].FirstOrDefault() is string v && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase));
}
