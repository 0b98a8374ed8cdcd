using System.Collections.Concurrent;

namespace Twill.Leases.Etcd;

/// <summary>
/// When each etcd lease expires. A listing needs the expiry of every record, and etcd only tells a
/// lease's remaining TTL one lease at a time (LeaseTimeToLive); Flannel asks once per record on every
/// listing. Twill renews by granting a new lease (as Flannel does) so a lease's expiry never moves:
/// it is asked once and remembered until it passes. An entry is asked again once its expiry is near,
/// in case some other tool keeps the lease alive.
/// </summary>
internal sealed class LeaseExpiryCache(TimeProvider time)
{
    /// <summary>Expiries closer than this are asked again rather than trusted.</summary>
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<long, DateTimeOffset> _expiries = new();

    public int Count => _expiries.Count;

    public bool TryGet(long leaseId, out DateTimeOffset expiry) =>
        _expiries.TryGetValue(leaseId, out expiry) && expiry - time.GetUtcNow() > s_recheck;

    /// <summary>Records what etcd said: <paramref name="ttlSeconds"/> left now (-1 when the lease is gone).</summary>
    public DateTimeOffset Remember(long leaseId, long ttlSeconds)
    {
        DateTimeOffset expiry = time.GetUtcNow() + TimeSpan.FromSeconds(Math.Max(0, ttlSeconds));
        _expiries[leaseId] = expiry;
        return expiry;
    }

    public void Forget(long leaseId) => _expiries.TryRemove(leaseId, out _);

    /// <summary>Drops leases that have expired (their records are gone from etcd too).</summary>
    public void Prune()
    {
        DateTimeOffset now = time.GetUtcNow();
        foreach (KeyValuePair<long, DateTimeOffset> entry in _expiries)
        {
            if (entry.Value < now)
            {
                _expiries.TryRemove(entry.Key, out _);
            }
        }
    }
}
