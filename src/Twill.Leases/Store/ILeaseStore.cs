namespace Twill.Leases.Store;

/// <summary>
/// Where leases live: the embedded file store, etcd v3, the Kubernetes API. A store is deliberately
/// dumb: it keeps key/value records with an expiry and tells watchers what changed. It knows
/// nothing of subnets or Flannel's JSON; parsing and validating records is the lease manager's
/// job (pure code), so a corrupt record is one warning there, never a store failure.
/// </summary>
/// <remarks>
/// Keys are the subnet part of Flannel's key, without the store's prefix:
/// <c>10.244.3.0-24</c>, dual-stack <c>10.244.4.0-24&amp;fd00:10:244:4::-64</c>.
/// Values are the lease JSON exactly as Flannel writes it.
/// </remarks>
public interface ILeaseStore : IAsyncDisposable
{
    /// <summary>A short description for logs and errors: "file:/var/lib/twill/leases", "etcd:https://a:2379,...".</summary>
    string Description { get; }

    /// <summary>The network configuration kept in the store (etcd <c>&lt;prefix&gt;/config</c>), or null when the store keeps none.</summary>
    Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken);

    /// <summary>Every unexpired record, and the store revision the listing is consistent with.</summary>
    Task<LeaseListing> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Creates the record if no unexpired record has this key, atomically (etcd: a transaction
    /// "if version(key) == 0 then put"; file store: under the store's lock). Returns null when the
    /// key is taken, so two nodes never get one subnet.
    /// </summary>
    Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces a record this node owns with a new value and a fresh TTL (renewal). When
    /// <paramref name="expectedRevision"/> is given and the record changed since (or vanished), throws
    /// <see cref="LeaseConflictException"/>.
    /// </summary>
    Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken);

    /// <summary>Deletes the record; false when it did not exist.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Changes after <paramref name="afterRevision"/>, in order, until cancelled. A record that expires
    /// is reported as <see cref="LeaseChangeKind.Delete"/>. Across disconnects the watch resumes from
    /// the last revision it delivered; when the store cannot replay (etcd compaction), it delivers one
    /// <see cref="LeaseChangeKind.Resync"/> carrying a fresh listing, then goes on from there.
    /// </summary>
    IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, CancellationToken cancellationToken);
}

/// <summary>One stored record. <see cref="Revision"/> is the store's modification revision of this record.</summary>
public sealed record LeaseRecord(string Key, string Value, DateTimeOffset Expiration, long Revision);

public sealed record LeaseListing(IReadOnlyList<LeaseRecord> Records, long Revision);

public enum LeaseChangeKind
{
    /// <summary>A record was created or replaced; <see cref="LeaseChange.Record"/> holds it.</summary>
    Put,

    /// <summary>A record was deleted or expired; only <see cref="LeaseChange.Key"/> is set.</summary>
    Delete,

    /// <summary>The store could not replay every change; <see cref="LeaseChange.Listing"/> is the whole current state.</summary>
    Resync,
}

public sealed record LeaseChange(LeaseChangeKind Kind, string Key, LeaseRecord? Record, LeaseListing? Listing, long Revision);

/// <summary>The record changed under us: someone else holds the key now, or it vanished.</summary>
public sealed class LeaseConflictException(string message) : Exception(message);
