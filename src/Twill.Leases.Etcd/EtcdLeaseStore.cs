using System.Runtime.CompilerServices;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using Twill.Leases.Store;

namespace Twill.Leases.Etcd;

/// <summary>
/// Leases in etcd v3, laid out and written exactly as Flannel's etcd registry does, so Twill and
/// flanneld nodes can share one etcd: each record at <c>&lt;prefix&gt;/subnets/&lt;key&gt;</c>,
/// attached to its own etcd lease whose TTL is the record's lifetime, created in a transaction
/// "if version(key) == 0 then put", renewed by a fresh grant and a put.
/// </summary>
public sealed partial class EtcdLeaseStore : ILeaseStore
{
    private readonly EtcdConnection _connection;
    private readonly EtcdKeyLayout _layout;
    private readonly LeaseExpiryCache _expiries;
    private readonly TimeProvider _time;

    public EtcdLeaseStore(EtcdLeaseStoreOptions options, TimeProvider? time = null)
    {
        _connection = new EtcdConnection(options);
        _layout = new EtcdKeyLayout(options.Prefix);
        _time = time ?? TimeProvider.System;
        _expiries = new LeaseExpiryCache(_time);
        Description = "etcd:" + string.Join(',', options.Endpoints);
    }

    public string Description { get; }

    /// <summary>How many lease TTLs listings may look up at once; one lookup per etcd lease is unavoidable the first time.</summary>
    public int TtlLookupParallelism { get; init; } = 32;

    public async Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken)
    {
        RangeRequest request = new() { Key = ByteString.CopyFromUtf8(_layout.ConfigKey) };
        RangeResponse response = await _connection.CallAsync("get", _layout.ConfigKey,
            (e, o) => e.Kv.RangeAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
    }

    public async Task<LeaseListing> ListAsync(CancellationToken cancellationToken)
    {
        RangeRequest request = new() { Key = _layout.SubnetsPrefixBytes, RangeEnd = _layout.SubnetsRangeEnd };
        RangeResponse response = await _connection.CallAsync("list", _layout.SubnetsPrefix,
            (e, o) => e.Kv.RangeAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);

        _expiries.Prune();
        HashSet<long> unknown = [];
        foreach (KeyValue kv in response.Kvs)
        {
            if (kv.Lease != 0 && !_expiries.TryGet(kv.Lease, out _))
            {
                unknown.Add(kv.Lease);
            }
        }
        // Ask for the TTLs we do not know yet in parallel: one round trip each, many in flight on the
        // same HTTP/2 connection, so 5,000 fresh leases take a fraction of a second, not 5,000 round trips.
        Dictionary<long, DateTimeOffset?> looked = [];
        await Parallel.ForEachAsync(unknown, new ParallelOptions { MaxDegreeOfParallelism = TtlLookupParallelism, CancellationToken = cancellationToken },
            async (leaseId, ct) =>
            {
                DateTimeOffset? expiry = await LookUpExpiryAsync(leaseId, ct).ConfigureAwait(false);
                lock (looked)
                {
                    looked[leaseId] = expiry;
                }
            }).ConfigureAwait(false);

        List<LeaseRecord> records = new(response.Kvs.Count);
        foreach (KeyValue kv in response.Kvs)
        {
            string? key = _layout.LeaseKeyOf(kv.Key);
            if (key is null)
            {
                continue;
            }
            DateTimeOffset? expiry = kv.Lease == 0 ? DateTimeOffset.MaxValue
                : _expiries.TryGet(kv.Lease, out DateTimeOffset cached) ? cached
                : looked.GetValueOrDefault(kv.Lease);
            if (expiry is { } e)
            {
                records.Add(new LeaseRecord(key, kv.Value.ToStringUtf8(), e, kv.ModRevision));
            }
        }
        return new LeaseListing(records, response.Header.Revision);
    }

    public async Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        string etcdKey = _layout.SubnetKey(key);
        ByteString keyBytes = ByteString.CopyFromUtf8(etcdKey);
        (long leaseId, DateTimeOffset expiry) = await GrantAsync(etcdKey, ttl, cancellationToken).ConfigureAwait(false);
        TxnRequest txn = new()
        {
            Compare = { new Compare { Key = keyBytes, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = keyBytes, Value = ByteString.CopyFromUtf8(value), Lease = leaseId } } },
            // Read the holder back: when our first attempt's answer was lost and the retry finds the key
            // taken, the holder's lease tells whether it was us.
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = keyBytes } } },
        };
        TxnResponse response;
        try
        {
            response = await _connection.CallAsync("create", etcdKey, (e, o) => e.Kv.TxnAsync(txn, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await RevokeQuietlyAsync(leaseId).ConfigureAwait(false);
            throw;
        }
        if (Written(response, leaseId, key, value, expiry, out _) is LeaseRecord written)
        {
            return written;
        }
        await RevokeQuietlyAsync(leaseId).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// The record a put-if transaction wrote: when it succeeded, or when it failed only because an
    /// earlier attempt of ours (whose answer was lost) already wrote it under the same etcd lease.
    /// Otherwise null, with the key's holder (null when the key is gone).
    /// </summary>
    private static LeaseRecord? Written(TxnResponse response, long leaseId, string key, string value, DateTimeOffset expiry, out KeyValue? holder)
    {
        holder = null;
        if (response.Succeeded)
        {
            return new LeaseRecord(key, value, expiry, response.Header.Revision);
        }
        holder = response.Responses.Count > 0 ? response.Responses[0].ResponseRange?.Kvs.FirstOrDefault() : null;
        return holder is not null && holder.Lease == leaseId ? new LeaseRecord(key, value, expiry, holder.ModRevision) : null;
    }

    public async Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken)
    {
        string etcdKey = _layout.SubnetKey(key);
        ByteString keyBytes = ByteString.CopyFromUtf8(etcdKey);
        (long leaseId, DateTimeOffset expiry) = await GrantAsync(etcdKey, ttl, cancellationToken).ConfigureAwait(false);
        PutRequest put = new() { Key = keyBytes, Value = ByteString.CopyFromUtf8(value), Lease = leaseId };
        try
        {
            if (expectedRevision is not { } expected)
            {
                // Flannel renews with a plain put; so do we when the caller does not care who wrote last.
                PutResponse plain = await _connection.CallAsync("update", etcdKey, (e, o) => e.Kv.PutAsync(put, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
                return new LeaseRecord(key, value, expiry, plain.Header.Revision);
            }
            TxnRequest txn = new()
            {
                Compare = { new Compare { Key = keyBytes, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = expected } },
                Success = { new RequestOp { RequestPut = put } },
                Failure = { new RequestOp { RequestRange = new RangeRequest { Key = keyBytes } } },
            };
            TxnResponse response = await _connection.CallAsync("update", etcdKey, (e, o) => e.Kv.TxnAsync(txn, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
            if (Written(response, leaseId, key, value, expiry, out KeyValue? holder) is LeaseRecord written)
            {
                return written;
            }
            await RevokeQuietlyAsync(leaseId).ConfigureAwait(false);
            throw new LeaseConflictException(holder is null
                ? $"etcd key {etcdKey}: vanished (expected it at revision {expected})"
                : $"etcd key {etcdKey}: changed at revision {holder.ModRevision} (expected revision {expected})");
        }
        catch (EtcdStoreException)
        {
            await RevokeQuietlyAsync(leaseId).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        string etcdKey = _layout.SubnetKey(key);
        DeleteRangeRequest request = new() { Key = ByteString.CopyFromUtf8(etcdKey) };
        DeleteRangeResponse response = await _connection.CallAsync("delete", etcdKey,
            (e, o) => e.Kv.DeleteRangeAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return response.Deleted > 0;
    }

    public ValueTask DisposeAsync()
    {
        _connection.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<(long LeaseId, DateTimeOffset Expiry)> GrantAsync(string etcdKey, TimeSpan ttl, CancellationToken cancellationToken)
    {
        // etcd counts TTLs in whole seconds (and raises very short ones to its minimum, about 1.5 s).
        long seconds = Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds));
        LeaseGrantRequest request = new() { TTL = seconds };
        LeaseGrantResponse grant = await _connection.CallAsync("grant lease for", etcdKey,
            (e, o) => e.Lease.LeaseGrantAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(grant.Error))
        {
            throw new EtcdStoreException($"etcd grant lease for {etcdKey}: {grant.Error}");
        }
        return (grant.ID, _expiries.Remember(grant.ID, grant.TTL));
    }

    /// <summary>A lease we granted but could not use: revoke it, and if that fails it expires on its own.</summary>
    private async Task RevokeQuietlyAsync(long leaseId)
    {
        _expiries.Forget(leaseId);
        try
        {
            LeaseRevokeRequest request = new() { ID = leaseId };
            using CancellationTokenSource timeout = new(_connection.RequestTimeout);
            await _connection.CallAsync("revoke lease", leaseId.ToString("x", System.Globalization.CultureInfo.InvariantCulture),
                (e, o) => e.Lease.LeaseRevokeAsync(request, o).ResponseAsync, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EtcdStoreException or OperationCanceledException)
        {
            // Nothing is attached to it; etcd drops it at its TTL.
        }
    }

    /// <summary>When the etcd lease expires; null when etcd no longer has it (its records are about to vanish).</summary>
    private async Task<DateTimeOffset?> ExpiryAsync(long leaseId, CancellationToken cancellationToken)
    {
        if (leaseId == 0)
        {
            return DateTimeOffset.MaxValue;
        }
        return _expiries.TryGet(leaseId, out DateTimeOffset cached) ? cached : await LookUpExpiryAsync(leaseId, cancellationToken).ConfigureAwait(false);
    }

    private async Task<DateTimeOffset?> LookUpExpiryAsync(long leaseId, CancellationToken cancellationToken)
    {
        LeaseTimeToLiveRequest request = new() { ID = leaseId };
        LeaseTimeToLiveResponse response = await _connection.CallAsync("lease time-to-live", leaseId.ToString("x", System.Globalization.CultureInfo.InvariantCulture),
            (e, o) => e.Lease.LeaseTimeToLiveAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        if (response.TTL < 0)
        {
            _expiries.Forget(leaseId);
            return null;
        }
        return _expiries.Remember(leaseId, response.TTL);
    }
}
