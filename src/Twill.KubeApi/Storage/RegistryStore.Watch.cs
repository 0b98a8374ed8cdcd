using System.Text.Json.Nodes;
using Etcdserverpb;
using Grpc.Core;
using Mvccpb;
using Twill.KubeApi.Resources;

namespace Twill.KubeApi.Storage;

/// <summary>One watch event as the API streams it: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.</summary>
internal readonly record struct WatchEvent(string Type, JsonObject Object);

/// <summary>How a watch starts and what it shows.</summary>
internal sealed record WatchOptions(ListOptions Selection, string? ResourceVersion, bool AllowBookmarks, TimeSpan BookmarkInterval, bool SendInitialEvents);

internal sealed partial class RegistryStore
{
    /// <summary>
    /// A watch as the etcd3 store makes it: with no resourceVersion (or "0") the current state first, as
    /// ADDED events, then an etcd watch from the revision after it (or after the given one); events are
    /// filtered as kube-apiserver filters them (an object entering the selection is ADDED, leaving it is
    /// DELETED). A revision etcd compacted ends the watch with an ERROR event carrying 410 Expired.
    /// Bookmarks come from etcd progress notifications, so their resourceVersion is one etcd vouches for.
    /// </summary>
    public async Task WatchAsync(string ns, WatchOptions options, Func<WatchEvent, CancellationToken, Task> emit, CancellationToken cancellationToken)
    {
        string dir = Kind.Directory(prefix, ns);
        long after = ParseResourceVersion(options.ResourceVersion);
        bool initial = after == 0 || options.SendInitialEvents;
        if (initial)
        {
            JsonObject list;
            try
            {
                // The current state: sendInitialEvents goes with resourceVersionMatch=NotOlderThan, which the latest satisfies.
                list = await ListAsync(ns, options.Selection with { Limit = 0, Continue = null, ResourceVersion = null, ResourceVersionMatch = null }, cancellationToken).ConfigureAwait(false);
            }
            catch (ApiError e) when (e.Code == 410)
            {
                await emit(new WatchEvent("ERROR", ApiError.Expired("The resourceVersion for the provided watch is too old.").ToStatus()), cancellationToken).ConfigureAwait(false);
                return;
            }
            after = ParseResourceVersion(Meta.Str((JsonObject)list["metadata"]!, "resourceVersion"));
            foreach (JsonObject item in ((JsonArray)list["items"]!).OfType<JsonObject>())
            {
                item["apiVersion"] = Kind.ApiVersion;
                item["kind"] = Kind.Kind;
                await emit(new WatchEvent("ADDED", (JsonObject)item.DeepClone()), cancellationToken).ConfigureAwait(false);
            }
            if (options.SendInitialEvents && options.AllowBookmarks)
            {
                JsonObject end = Bookmark(after);
                Meta.Metadata(end)["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
                await emit(new WatchEvent("BOOKMARK", end), cancellationToken).ConfigureAwait(false);
            }
        }

        using CancellationTokenSource life = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call = etcd.OpenWatch(life.Token);
        SemaphoreSlim writes = new(1, 1);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = EtcdStorage.Bytes(dir),
                RangeEnd = EtcdStorage.PrefixEnd(dir),
                StartRevision = after + 1,
                PrevKv = true,
            },
        }, life.Token).ConfigureAwait(false);
        Task progress = options.AllowBookmarks ? RequestProgressAsync(call, writes, options.BookmarkInterval, life.Token) : Task.CompletedTask;
        try
        {
            while (await call.ResponseStream.MoveNext(life.Token).ConfigureAwait(false))
            {
                WatchResponse response = call.ResponseStream.Current;
                if (response.CompactRevision != 0)
                {
                    await emit(new WatchEvent("ERROR", ApiError.Expired("The resourceVersion for the provided watch is too old.").ToStatus()), life.Token).ConfigureAwait(false);
                    return;
                }
                if (response.Canceled)
                {
                    await emit(new WatchEvent("ERROR", ApiError.Internal("etcd cancelled the watch: " + response.CancelReason).ToStatus()), life.Token).ConfigureAwait(false);
                    return;
                }
                if (response.Created)
                {
                    continue;
                }
                if (response.Events.Count == 0)
                {
                    // A progress notification: every event up to this revision has been delivered.
                    if (options.AllowBookmarks)
                    {
                        await emit(new WatchEvent("BOOKMARK", Bookmark(response.Header.Revision)), life.Token).ConfigureAwait(false);
                    }
                    continue;
                }
                foreach (Event e in response.Events)
                {
                    WatchEvent? translated = Translate(e, options.Selection);
                    if (translated is WatchEvent ev)
                    {
                        await emit(ev, life.Token).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (RpcException e) when (!life.IsCancellationRequested)
        {
            etcd.MemberFailed();
            await emit(new WatchEvent("ERROR", ApiError.Internal("etcd watch: " + e.Status.Detail).ToStatus()), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException) when (life.IsCancellationRequested)
        {
            // The client went away or the watch timed out.
        }
        finally
        {
            await life.CancelAsync().ConfigureAwait(false);
            try
            {
                await progress.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            catch (RpcException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    private static async Task RequestProgressAsync(AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call, SemaphoreSlim writes, TimeSpan interval, CancellationToken cancellationToken)
    {
        using PeriodicTimer timer = new(interval);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            await writes.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await call.RequestStream.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                writes.Release();
            }
        }
    }

    /// <summary>An etcd event as the API reports it, or null when neither the old nor the new object is selected.</summary>
    private WatchEvent? Translate(Event e, ListOptions selection)
    {
        if (e.Type == Event.Types.EventType.Delete)
        {
            if (e.PrevKv is null)
            {
                return null;
            }
            // The object as it last was, at the revision of its deletion.
            JsonObject gone = Decode(e.PrevKv);
            Meta.SetResourceVersion(gone, e.Kv.ModRevision);
            return selection.Matches(gone) ? new WatchEvent("DELETED", gone) : null;
        }
        JsonObject current = Decode(e.Kv);
        bool created = e.Kv.CreateRevision == e.Kv.ModRevision || e.PrevKv is null;
        bool now = selection.Matches(current);
        if (created)
        {
            return now ? new WatchEvent("ADDED", current) : null;
        }
        bool before = !selection.Filters || selection.Matches(Decode(e.PrevKv!));
        if (now && before)
        {
            return new WatchEvent("MODIFIED", current);
        }
        if (now)
        {
            return new WatchEvent("ADDED", current);
        }
        if (before)
        {
            JsonObject left = Decode(e.PrevKv!);
            Meta.SetResourceVersion(left, e.Kv.ModRevision);
            return new WatchEvent("DELETED", left);
        }
        return null;
    }

    /// <summary>A BOOKMARK's object: the kind with only metadata.resourceVersion.</summary>
    private JsonObject Bookmark(long revision)
    {
        JsonObject obj = new()
        {
            ["kind"] = Kind.Kind,
            ["apiVersion"] = Kind.ApiVersion,
            ["metadata"] = new JsonObject { ["creationTimestamp"] = null },
        };
        Meta.SetResourceVersion(obj, revision);
        return obj;
    }
}
