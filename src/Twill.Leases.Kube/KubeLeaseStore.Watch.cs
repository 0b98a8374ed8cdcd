using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Twill.Leases.Store;

namespace Twill.Leases.Kube;

public sealed partial class KubeLeaseStore
{
    /// <summary>
    /// Node changes after <paramref name="afterRevision"/> (a listing's resourceVersion), as lease
    /// changes. A watch the server ends (timeoutSeconds) or that breaks (API server restarted,
    /// connection reset) is reopened from the last resourceVersion seen (events or bookmarks), with
    /// back-off, so nothing is missed and nothing repeated; when the server answers 410 Gone (etcd
    /// compacted past it) the nodes are listed again and one Resync carries the fresh listing. Refused
    /// credentials (401/403) end the watch with the error.
    /// </summary>
    public async IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long revision = afterRevision;
        TimeSpan backoff = _options.RetryInterval;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? problem = null;
            bool gone = false;
            IAsyncEnumerator<NodeEvent> events = _api.WatchNodesAsync(revision, _options.WatchTimeout, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    NodeEvent e;
                    try
                    {
                        if (!await events.MoveNextAsync().ConfigureAwait(false))
                        {
                            break;
                        }
                        e = events.Current;
                    }
                    catch (KubeApiException ex) when (ex.Status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden))
                    {
                        problem = ex.Message;
                        break;
                    }
                    catch (Exception ex) when (ex is IOException or HttpRequestException or System.Text.Json.JsonException
                        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                    {
                        problem = ex.Message;
                        break;
                    }
                    if (e.Type == NodeEventType.Error)
                    {
                        if (e.ErrorCode == (int)HttpStatusCode.Gone)
                        {
                            gone = true;
                        }
                        else
                        {
                            problem = string.Create(CultureInfo.InvariantCulture, $"the server ended the watch: {e.ErrorCode} {e.ErrorMessage}");
                        }
                        break;
                    }
                    backoff = _options.RetryInterval;
                    if (e.ResourceVersion > 0)
                    {
                        revision = e.ResourceVersion;
                    }
                    if (e.Type == NodeEventType.Bookmark || e.Node is null)
                    {
                        continue;
                    }
                    IReadOnlyList<LeaseChange> changes;
                    lock (_gate)
                    {
                        changes = e.Type == NodeEventType.Deleted
                            ? _table.Remove(e.Node.Name, e.ResourceVersion)
                            : _table.Upsert(e.Node, e.ResourceVersion);
                    }
                    foreach (LeaseChange change in changes)
                    {
                        yield return change;
                    }
                }
            }
            finally
            {
                await events.DisposeAsync().ConfigureAwait(false);
            }
            if (gone)
            {
                WatchProblem?.Invoke($"{Description}: watch of nodes from resourceVersion {revision}: 410 Gone (compacted); listing again");
                LeaseListing listing = await ListWithRetryAsync(cancellationToken).ConfigureAwait(false);
                revision = listing.Revision;
                yield return new LeaseChange(LeaseChangeKind.Resync, string.Empty, null, listing, listing.Revision);
                continue;
            }
            if (problem is not null)
            {
                WatchProblem?.Invoke($"{Description}: watch of nodes broke ({problem}); resuming from resourceVersion {revision} in {backoff.TotalMilliseconds:F0} ms");
                await Task.Delay(backoff, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxRetryInterval.Ticks));
            }
            // Else the server closed the watch at its timeout: reopen at once from where it stopped.
        }
    }

    private async Task<LeaseListing> ListWithRetryAsync(CancellationToken cancellationToken)
    {
        TimeSpan backoff = _options.RetryInterval;
        while (true)
        {
            try
            {
                return await ListAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (KubeApiException e) when (e.Status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden))
            {
                WatchProblem?.Invoke($"{Description}: listing nodes failed ({e.Message}); retrying in {backoff.TotalMilliseconds:F0} ms");
            }
            await Task.Delay(backoff, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxRetryInterval.Ticks));
        }
    }
}
