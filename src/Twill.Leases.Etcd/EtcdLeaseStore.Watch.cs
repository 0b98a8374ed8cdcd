using System.Runtime.CompilerServices;
using Etcdserverpb;
using Grpc.Core;
using Mvccpb;
using Twill.Leases.Store;

namespace Twill.Leases.Etcd;

public sealed partial class EtcdLeaseStore
{
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_lastBackoff = TimeSpan.FromSeconds(2);

    /// <summary>Told why a watch stream broke and where it resumes; for the caller's log.</summary>
    public Action<string>? WatchProblem { get; init; }

    /// <summary>
    /// Watches <c>&lt;prefix&gt;/subnets/</c> from <paramref name="afterRevision"/> + 1. When the stream
    /// breaks (member down, no leader, connection reset) it reopens, on the next member, from the
    /// revision after the last event it delivered, so a disconnect loses nothing: etcd replays its
    /// history. When that history was compacted away it delivers one Resync listing and goes on
    /// from the listing's revision.
    /// </summary>
    public async IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long next = afterRevision + 1;
        TimeSpan backoff = s_firstBackoff;
        int member = _connection.CurrentIndex;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            EtcdEndpoint endpoint = _connection.Endpoints[member % _connection.Endpoints.Count];
            using CancellationTokenSource streamLife = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            (WatchStream? stream, string? problem) = await WatchStream.OpenAsync(this, endpoint, next, streamLife.Token).ConfigureAwait(false);
            bool healthy = false;
            if (stream is not null)
            {
                using (stream)
                {
                    while (true)
                    {
                        (WatchResponse? response, problem) = await stream.NextAsync(streamLife.Token).ConfigureAwait(false);
                        if (response is null)
                        {
                            break;
                        }
                        if (response.CompactRevision > 0)
                        {
                            WatchProblem?.Invoke($"etcd {endpoint.Url}: watch of {_layout.SubnetsPrefix} from revision {next}: compacted at {response.CompactRevision}; listing again");
                            LeaseListing? listing = await TryListAsync(cancellationToken).ConfigureAwait(false);
                            if (listing is not null)
                            {
                                yield return new LeaseChange(LeaseChangeKind.Resync, string.Empty, null, listing, listing.Revision);
                                next = listing.Revision + 1;
                                healthy = true;
                            }
                            problem = null;
                            break;
                        }
                        if (response.Canceled)
                        {
                            problem = $"watch canceled by etcd: {response.CancelReason}";
                            break;
                        }
                        healthy = true;
                        backoff = s_firstBackoff;
                        foreach (Event e in response.Events)
                        {
                            LeaseChange? change = await ToChangeAsync(e, cancellationToken).ConfigureAwait(false);
                            next = e.Kv.ModRevision + 1;
                            if (change is not null)
                            {
                                yield return change;
                            }
                        }
                    }
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (problem is not null)
            {
                WatchProblem?.Invoke($"etcd {endpoint.Url}: watch of {_layout.SubnetsPrefix}: {problem}; resuming from revision {next}");
                // Another member may still be up. After a stream that worked, retry soon; after one that
                // never did, back off so a cluster that is down is not hammered.
                member++;
                await Task.Delay(healthy ? s_firstBackoff : backoff, _time, cancellationToken).ConfigureAwait(false);
                if (!healthy)
                {
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, s_lastBackoff.Ticks));
                }
            }
            streamLife.Cancel();
        }
    }

    private async Task<LeaseListing?> TryListAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await ListAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdStoreException e)
        {
            // The watch loop reconnects and, finding the same compaction, lists again.
            WatchProblem?.Invoke(e.Message);
            await Task.Delay(s_firstBackoff, _time, cancellationToken).ConfigureAwait(false);
            return null;
        }
    }

    private async Task<LeaseChange?> ToChangeAsync(Event e, CancellationToken cancellationToken)
    {
        string? key = _layout.LeaseKeyOf(e.Kv.Key);
        if (key is null)
        {
            return null;
        }
        if (e.Type == Event.Types.EventType.Delete)
        {
            return new LeaseChange(LeaseChangeKind.Delete, key, null, null, e.Kv.ModRevision);
        }
        DateTimeOffset expiry;
        try
        {
            // A lease that is already gone (null) means the record is expiring right now; its Delete follows.
            expiry = await ExpiryAsync(e.Kv.Lease, cancellationToken).ConfigureAwait(false) ?? _time.GetUtcNow();
        }
        catch (EtcdStoreException problem)
        {
            // The change itself is certain; only its expiry is not. Report it with the longest plausible expiry
            // rather than hold the event back.
            WatchProblem?.Invoke(problem.Message);
            expiry = DateTimeOffset.MaxValue;
        }
        LeaseRecord record = new(key, e.Kv.Value.ToStringUtf8(), expiry, e.Kv.ModRevision);
        return new LeaseChange(LeaseChangeKind.Put, key, record, null, e.Kv.ModRevision);
    }

    /// <summary>One watch stream on one member. Failures come back as a description, never as exceptions, so the loop above can yield.</summary>
    private sealed class WatchStream(AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call) : IDisposable
    {
        public static async Task<(WatchStream? Stream, string? Problem)> OpenAsync(EtcdLeaseStore store, EtcdEndpoint endpoint, long startRevision, CancellationToken cancellationToken)
        {
            AsyncDuplexStreamingCall<WatchRequest, WatchResponse>? call = null;
            try
            {
                CallOptions options = await store._connection.CallOptionsAsync(endpoint, timeout: null, requireLeader: true, cancellationToken).ConfigureAwait(false);
                call = endpoint.Watch.Watch(options);
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest
                    {
                        Key = store._layout.SubnetsPrefixBytes,
                        RangeEnd = store._layout.SubnetsRangeEnd,
                        StartRevision = startRevision,
                    },
                }, cancellationToken).ConfigureAwait(false);
                return (new WatchStream(call), null);
            }
            catch (OperationCanceledException)
            {
                call?.Dispose();
                throw;
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested)
            {
                call?.Dispose();
                throw new OperationCanceledException("etcd watch cancelled", e, cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsStreamFailure(e))
            {
                if (e is RpcException rpc && EtcdConnection.IsInvalidToken(rpc))
                {
                    endpoint.Token = null;
                }
                call?.Dispose();
                return (null, Describe(e));
            }
        }

        public async Task<(WatchResponse? Response, string? Problem)> NextAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false)
                    ? (call.ResponseStream.Current, null)
                    : (null, "stream closed by the server");
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
            {
                // Cancelling a gRPC stream surfaces as RpcException(Cancelled), IOException, ...: callers expect cancellation.
                throw new OperationCanceledException("etcd watch cancelled", e, cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsStreamFailure(e))
            {
                return (null, Describe(e));
            }
        }

        public void Dispose() => call.Dispose();

        private static bool IsStreamFailure(Exception e) => e is RpcException or IOException or InvalidOperationException or EtcdStoreException or HttpRequestException;

        private static string Describe(Exception e) => e is RpcException rpc ? EtcdConnection.Describe(rpc) : e.Message;
    }
}
