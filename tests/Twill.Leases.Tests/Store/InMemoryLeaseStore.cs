using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Twill.Leases.Store;

namespace Twill.Leases.Tests;

/// <summary>
/// An <see cref="ILeaseStore"/> in memory with etcd's semantics: one revision counter, full history
/// (a watch replays every change after its revision), expired records invisible. For manager tests.
/// </summary>
internal sealed class InMemoryLeaseStore(TimeProvider? time = null) : ILeaseStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LeaseRecord> _records = new(StringComparer.Ordinal);
    private readonly List<LeaseChange> _history = [];
    private readonly List<Channel<LeaseChange>> _watchers = [];
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _revision;

    public string? NetworkConfig { get; set; }

    /// <summary>Counts TryCreate calls that found the key taken (lost races).</summary>
    public int CreateConflicts;

    /// <summary>When set, called inside TryCreate before the check, to let a test slip a competing write in.</summary>
    public Action<string>? BeforeCreate { get; set; }

    public string Description => "memory:";

    public Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken) => Task.FromResult(NetworkConfig);

    public Task<LeaseListing> ListAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            return Task.FromResult(new LeaseListing([.. _records.Values.Where(r => r.Expiration > now).OrderBy(r => r.Key, StringComparer.Ordinal)], _revision));
        }
    }

    public Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        BeforeCreate?.Invoke(key);
        lock (_gate)
        {
            if (_records.TryGetValue(key, out LeaseRecord? existing) && existing.Expiration > _time.GetUtcNow())
            {
                CreateConflicts++;
                return Task.FromResult<LeaseRecord?>(null);
            }
            return Task.FromResult<LeaseRecord?>(PutLocked(key, value, ttl));
        }
    }

    public Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (expectedRevision is long expected)
            {
                if (!_records.TryGetValue(key, out LeaseRecord? existing) || existing.Expiration <= _time.GetUtcNow())
                {
                    throw new LeaseConflictException($"lease {key} is gone");
                }
                if (existing.Revision != expected)
                {
                    throw new LeaseConflictException($"lease {key} changed");
                }
            }
            return Task.FromResult(PutLocked(key, value, ttl));
        }
    }

    /// <summary>Puts a record as some other node would, bypassing every check.</summary>
    public LeaseRecord Put(string key, string value, TimeSpan? ttl = null)
    {
        lock (_gate)
        {
            return PutLocked(key, value, ttl ?? TimeSpan.FromHours(24));
        }
    }

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_records.Remove(key))
            {
                return Task.FromResult(false);
            }
            Publish(new LeaseChange(LeaseChangeKind.Delete, key, null, null, ++_revision));
            return Task.FromResult(true);
        }
    }

    /// <summary>Delivers a Resync (as etcd after a compaction) to every watcher.</summary>
    public void Resync()
    {
        lock (_gate)
        {
            LeaseListing listing = new([.. _records.Values.OrderBy(r => r.Key, StringComparer.Ordinal)], _revision);
            foreach (Channel<LeaseChange> w in _watchers)
            {
                w.Writer.TryWrite(new LeaseChange(LeaseChangeKind.Resync, "", null, listing, _revision));
            }
        }
    }

    public async IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Channel<LeaseChange> channel = Channel.CreateUnbounded<LeaseChange>();
        lock (_gate)
        {
            foreach (LeaseChange change in _history.Where(c => c.Revision > afterRevision))
            {
                channel.Writer.TryWrite(change);
            }
            _watchers.Add(channel);
        }
        try
        {
            await foreach (LeaseChange change in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return change;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private LeaseRecord PutLocked(string key, string value, TimeSpan ttl)
    {
        LeaseRecord record = new(key, value, _time.GetUtcNow() + ttl, ++_revision);
        _records[key] = record;
        Publish(new LeaseChange(LeaseChangeKind.Put, key, record, null, record.Revision));
        return record;
    }

    private void Publish(LeaseChange change)
    {
        _history.Add(change);
        foreach (Channel<LeaseChange> w in _watchers)
        {
            w.Writer.TryWrite(change);
        }
    }
}
