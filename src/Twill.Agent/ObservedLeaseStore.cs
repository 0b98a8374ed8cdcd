using System.Runtime.CompilerServices;
using Twill.Leases.Store;

namespace Twill.Agent;

/// <summary>
/// A lease store seen through readiness: a listing or watch that fails makes the node not ready, a
/// listing or watch change that arrives makes it ready again. Everything else passes straight through.
/// The lease manager retries on its own; this only lets <c>/readyz</c> tell that it is retrying.
/// </summary>
internal sealed class ObservedLeaseStore(ILeaseStore inner, Readiness readiness) : ILeaseStore
{
    public string Description => inner.Description;

    public Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken) => inner.GetNetworkConfigAsync(cancellationToken);

    public async Task<LeaseListing> ListAsync(CancellationToken cancellationToken)
    {
        try
        {
            LeaseListing listing = await inner.ListAsync(cancellationToken).ConfigureAwait(false);
            readiness.WatchWorks();
            return listing;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            readiness.WatchFailed($"listing leases from {inner.Description} failed: {e.Message}");
            throw;
        }
    }

    public Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken) =>
        inner.TryCreateAsync(key, value, ttl, cancellationToken);

    public Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken) =>
        inner.UpdateAsync(key, value, ttl, expectedRevision, cancellationToken);

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

    public async IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IAsyncEnumerator<LeaseChange> changes = inner.WatchAsync(afterRevision, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await changes.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    readiness.WatchFailed($"watching leases in {inner.Description} failed: {e.Message}");
                    throw;
                }
                if (!more)
                {
                    yield break;
                }
                readiness.WatchWorks();
                yield return changes.Current;
            }
        }
        finally
        {
            await changes.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
