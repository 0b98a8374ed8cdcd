using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Twill.Core;
using Twill.Leases.Store;

namespace Twill.Leases;

/// <summary>
/// This node's lease and its view of the peers' leases, over any <see cref="ILeaseStore"/>:
/// <see cref="AcquireAsync"/> as Flannel does, <see cref="RunRenewalAsync"/> to keep it, and
/// <see cref="WatchPeersAsync"/> for the peers, validated (see <see cref="PeerSet"/>).
/// </summary>
public sealed class LeaseManager
{
    /// <summary>Flannel picks a random subnet among at most this many free ones, nearest SubnetMin first.</summary>
    private const int CandidateWindow = 100;

    private readonly ILeaseStore _store;
    private readonly LeaseManagerOptions _options;
    private readonly ILogger _logger;
    private Lease? _current;
    private LeaseListing? _acquireListing;

    public LeaseManager(ILeaseStore store, NetworkConfig config, LeaseManagerOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(config);
        _store = store;
        Config = config;
        _options = options ?? new LeaseManagerOptions();
        _logger = logger ?? NullLogger.Instance;
        Peers = new PeerSet(config, message => _logger.LogWarning("{Warning}", message));
    }

    /// <summary>The valid peers as <see cref="WatchPeersAsync"/> keeps them: the node's one peer set, read by whoever plans from it.</summary>
    public PeerSet Peers { get; }

    /// <summary>The validated network configuration leases are handed out from.</summary>
    public NetworkConfig Config { get; }

    /// <summary>This node's lease once acquired (updated on each renewal).</summary>
    public Lease? Current => Volatile.Read(ref _current);

    /// <summary>
    /// Acquires this node's lease, Flannel's way: reuse the lease that carries this node's public IP
    /// when it still fits the config (else delete it); else the previous subnet (subnet.env) when free
    /// and compatible; else a random free subnet among the first 100 free from SubnetMin. A lost race
    /// for a subnet is retried with a fresh listing. Throws <see cref="SubnetPoolExhaustedException"/>
    /// when no subnet is free.
    /// </summary>
    public async Task<Lease> AcquireAsync(LeaseAttrs attrs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attrs);
        if ((_options.AssignedSubnets ?? _store as IAssignedSubnetStore) is IAssignedSubnetStore assigned)
        {
            return await AcquireAssignedAsync(assigned, attrs, cancellationToken).ConfigureAwait(false);
        }
        for (int attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Lease? lease = await TryAcquireOnceAsync(attrs, cancellationToken).ConfigureAwait(false);
            if (lease is not null)
            {
                Volatile.Write(ref _current, lease);
                _logger.LogInformation("Leased {Subnets} from {Store}, expires {Expiration:u}", lease.Subnets, _store.Description, lease.Expiration);
                return lease;
            }
            if (attempt >= _options.MaxAcquireAttempts)
            {
                throw new LeaseConflictException($"could not lease a subnet from {_store.Description}: another node took the chosen subnet {attempt} times in a row");
            }
            // Lost a race: back off a little, randomly, so contenders spread out.
            int delayMs = _options.Random.Next(1, 5 + Math.Min(attempt * 5, 100));
            _logger.LogDebug("Subnet taken by another node meanwhile, retrying in {Delay} ms", delayMs);
            await Task.Delay(TimeSpan.FromMilliseconds(delayMs), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The cluster chose the subnet (Kubernetes podCIDR): wait for it, then publish this node's attributes on it.</summary>
    private async Task<Lease> AcquireAssignedAsync(IAssignedSubnetStore assigned, LeaseAttrs attrs, CancellationToken ct)
    {
        LeaseSubnets subnets = await assigned.WaitForAssignedSubnetsAsync(Config, ct).ConfigureAwait(false);
        if (_options.ReviseAttrs is { } revise)
        {
            // The same VtepMAC rule as for chosen subnets: a MAC another node's lease holds is not published.
            LeaseListing listing = await _store.ListAsync(ct).ConfigureAwait(false);
            // The peers' first snapshot too (WatchPeersAsync): at 5,000 Kubernetes nodes a listing is ~50 MB
            // of JSON, and the watch from its revision replays whatever changed since.
            Volatile.Write(ref _acquireListing, listing);
            string own = subnets.ToKey();
            List<Lease> others = [];
            foreach (LeaseRecord r in listing.Records)
            {
                if (r.Key != own && Lease.TryFromRecord(r, out Lease? other, out _))
                {
                    others.Add(other);
                }
            }
            attrs = revise(others, attrs);
        }
        LeaseRecord record = await _store.UpdateAsync(subnets.ToKey(), attrs.ToJson(), _options.Ttl, null, ct).ConfigureAwait(false);
        Lease lease = new(subnets, attrs, record.Expiration, record.Revision);
        Volatile.Write(ref _current, lease);
        _logger.LogInformation("Subnet {Subnets} assigned by {Store}; published this node's lease", lease.Subnets, _store.Description);
        return lease;
    }

    private async Task<Lease?> TryAcquireOnceAsync(LeaseAttrs attrs, CancellationToken ct)
    {
        LeaseListing listing = await _store.ListAsync(ct).ConfigureAwait(false);
        List<Lease> leases = new(listing.Records.Count);
        foreach (LeaseRecord record in listing.Records)
        {
            if (Lease.TryFromRecord(record, out Lease? lease, out string? error))
            {
                leases.Add(lease);
            }
            else
            {
                // Through the peer set: the watch that follows reads the same record, and it is one warning.
                Peers.WarnOnce(record, $"{error} (ignored)");
            }
        }

        // 1. The lease already carrying our public IP (a restart, or a node whose subnet.env was lost).
        Lease? mine = attrs.HasPublicIP
            ? leases.FirstOrDefault(l => l.Attrs.PublicIP.Equals(attrs.PublicIP))
            : attrs.PublicIPv6 is IPAddress ip6 ? leases.FirstOrDefault(l => ip6.Equals(l.Attrs.PublicIPv6)) : null;
        if (_options.ReviseAttrs is { } revise)
        {
            attrs = revise([.. leases.Where(l => !ReferenceEquals(l, mine))], attrs);
        }
        string value = attrs.ToJson();
        if (mine is not null)
        {
            if (IsCompatible(mine.Subnets))
            {
                _logger.LogInformation("Found lease {Subnets} for this node's address {PublicIP}, reusing it", mine.Subnets,
                    attrs.HasPublicIP ? attrs.PublicIP : attrs.PublicIPv6);
                try
                {
                    LeaseRecord renewed = await _store.UpdateAsync(mine.Key, value, _options.Ttl, mine.Revision, ct).ConfigureAwait(false);
                    return new Lease(mine.Subnets, attrs, renewed.Expiration, renewed.Revision);
                }
                catch (LeaseConflictException)
                {
                    return null; // changed under us: list again
                }
            }
            _logger.LogInformation("Found lease {Subnets} for this node's address but it does not fit the network config any more; deleting it", mine.Subnets);
            await _store.DeleteAsync(mine.Key, ct).ConfigureAwait(false);
            leases.Remove(mine);
        }

        SubnetIndex taken = new();
        foreach (Lease l in leases)
        {
            taken.Add(l.Subnets, l.Key);
        }

        // 2. The subnet of the previous run, when nobody holds it.
        LeaseSubnets? chosen = null;
        if (_options.PreviousSubnets is LeaseSubnets previous)
        {
            if (!IsCompatible(previous))
            {
                _logger.LogWarning("Previous subnet {Subnets} (subnet.env) does not fit the network config; ignoring it", previous);
            }
            else if (taken.FindOverlap(previous) is string holder)
            {
                _logger.LogInformation("Previous subnet {Subnets} is now held by lease {Holder}", previous, holder);
            }
            else
            {
                _logger.LogInformation("Reusing the previous subnet {Subnets}", previous);
                chosen = previous;
            }
        }

        // 3. A random free one.
        chosen ??= PickFree(taken);
        LeaseRecord? created = await _store.TryCreateAsync(chosen.Value.ToKey(), value, _options.Ttl, ct).ConfigureAwait(false);
        return created is null ? null : new Lease(chosen.Value, attrs, created.Expiration, created.Revision);
    }

    private LeaseSubnets PickFree(SubnetIndex taken)
    {
        IPNetwork? v4 = null, v6 = null;
        if (Config.IPv4Pool is SubnetPool pool4)
        {
            v4 = PickFree(pool4, taken);
        }
        if (Config.IPv6Pool is SubnetPool pool6)
        {
            v6 = PickFree(pool6, taken);
        }
        return new LeaseSubnets(v4, v6);
    }

    private IPNetwork PickFree(SubnetPool pool, SubnetIndex taken)
    {
        List<IPNetwork> free = new(CandidateWindow);
        UInt128 count = pool.Count;
        for (UInt128 i = 0; i < count && free.Count < CandidateWindow; i++)
        {
            IPNetwork subnet = pool[i];
            if (taken.FindOverlap(subnet) is null)
            {
                free.Add(subnet);
            }
        }
        if (free.Count == 0)
        {
            throw new SubnetPoolExhaustedException(
                $"no free subnet left in {pool.Network}: all {count} /{pool.SubnetLength} subnets from {pool.Min} to {pool.Max} are leased ({_store.Description})");
        }
        return free[_options.Random.Next(free.Count)];
    }

    /// <summary>Flannel's isSubnetConfigCompat, for both families.</summary>
    private bool IsCompatible(LeaseSubnets subnets)
    {
        bool v4 = Config.IPv4Pool is SubnetPool p4 ? subnets.IPv4 is IPNetwork s4 && p4.IsCompatible(s4) : subnets.IPv4 is null;
        bool v6 = Config.IPv6Pool is SubnetPool p6 ? subnets.IPv6 is IPNetwork s6 && p6.IsCompatible(s6) : subnets.IPv6 is null;
        return v4 && v6;
    }

    /// <summary>
    /// Renews this node's lease now (new TTL). If the record vanished (it expired while the store was
    /// unreachable), it is created again when still free; if another node holds it now, throws
    /// <see cref="LeaseLostException"/>.
    /// </summary>
    public async Task<Lease> RenewAsync(CancellationToken cancellationToken)
    {
        Lease current = Current ?? throw new InvalidOperationException("no lease to renew: call AcquireAsync first");
        string value = current.Attrs.ToJson();
        LeaseRecord record;
        try
        {
            record = await _store.UpdateAsync(current.Key, value, _options.Ttl, current.Revision, cancellationToken).ConfigureAwait(false);
        }
        catch (LeaseConflictException)
        {
            record = await _store.TryCreateAsync(current.Key, value, _options.Ttl, cancellationToken).ConfigureAwait(false)
                ?? throw new LeaseLostException($"lease {current.Key} was taken by another node in {_store.Description}");
            _logger.LogWarning("Lease {Key} had expired or vanished; created it again", current.Key);
        }
        Lease renewed = current with { Expiration = record.Expiration, Revision = record.Revision };
        Volatile.Write(ref _current, renewed);
        return renewed;
    }

    /// <summary>
    /// Keeps the lease: renews it <see cref="LeaseManagerOptions.RenewMargin"/> before expiry, retrying
    /// failures every <see cref="LeaseManagerOptions.RenewRetryInterval"/>, until cancelled. Throws
    /// <see cref="LeaseLostException"/> when another node took the subnet.
    /// </summary>
    public async Task RunRenewalAsync(CancellationToken cancellationToken)
    {
        TimeProvider time = _options.TimeProvider;
        while (true)
        {
            Lease current = Current ?? throw new InvalidOperationException("no lease to renew: call AcquireAsync first");
            if (current.Expiration == DateTimeOffset.MaxValue)
            {
                // A store without TTLs (Kubernetes): nothing to renew, ever.
                await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken).ConfigureAwait(false);
            }
            TimeSpan wait = current.Expiration - _options.RenewMargin - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            }
            try
            {
                Lease renewed = await RenewAsync(cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Lease {Key} renewed, expires {Expiration:u}", renewed.Key, renewed.Expiration);
            }
            catch (Exception e) when (e is not (LeaseLostException or OperationCanceledException or InvalidOperationException))
            {
                _logger.LogError(e, "Renewing lease {Key} failed; trying again in {Retry}", current.Key, _options.RenewRetryInterval);
                await Task.Delay(_options.RenewRetryInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Deletes this node's lease (a node leaving for good; Flannel keeps it on restart, and so should the agent).</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _current, null) is Lease current)
        {
            await _store.DeleteAsync(current.Key, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The peers' leases: first a <see cref="PeerEventKind.Snapshot"/> of every valid peer, then
    /// Added / Changed / Removed as they happen, and a new Snapshot after the store resyncs or after
    /// the watch failed and was re-established (re-list, then watch on). Invalid leases are skipped
    /// with a warning naming the key. This node's own lease (<see cref="Current"/>) is never a peer.
    /// </summary>
    public async IAsyncEnumerable<PeerEvent> WatchPeersAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        PeerSet peers = Peers;
        peers.Own = Current;
        while (!cancellationToken.IsCancellationRequested)
        {
            // The first time, the listing acquiring the subnet read, when it read one (a cluster-assigned subnet).
            LeaseListing? listing = Interlocked.Exchange(ref _acquireListing, null);
            try
            {
                listing ??= await _store.ListAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError(e, "Listing leases from {Store} failed; retrying in {Retry}", _store.Description, _options.WatchRetryInterval);
            }
            if (listing is null)
            {
                await Task.Delay(_options.WatchRetryInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                continue;
            }
            peers.Own = Current;
            PeerEvent snapshot = peers.Reset(listing.Records);

            // Start watching before handing out the snapshot: a consumer busy programming thousands of
            // peers must not make the watch start late (a store without history would then resync).
            // C# forbids yield inside try/catch, so the watch is pumped through an explicit enumerator.
            using CancellationTokenSource watchCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            IAsyncEnumerator<LeaseChange> changes = _store.WatchAsync(listing.Revision, watchCts.Token).GetAsyncEnumerator(watchCts.Token);
            Task<bool> next = changes.MoveNextAsync().AsTask();
            try
            {
                yield return snapshot;
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await next.ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        _logger.LogError(e, "Watching leases in {Store} failed; re-listing in {Retry}", _store.Description, _options.WatchRetryInterval);
                        break;
                    }
                    if (!more)
                    {
                        break;
                    }
                    peers.Own = Current;
                    IReadOnlyList<PeerEvent> events = peers.Apply(changes.Current);
                    next = changes.MoveNextAsync().AsTask();
                    foreach (PeerEvent e in events)
                    {
                        yield return e;
                    }
                }
            }
            finally
            {
                // A store enumerator must not be disposed while a MoveNext is in flight: stop it first.
                await watchCts.CancelAsync().ConfigureAwait(false);
                try
                {
                    await next.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The watch is being torn down; its failure, if any, was logged above.
                }
                await changes.DisposeAsync().ConfigureAwait(false);
            }
            await Task.Delay(_options.WatchRetryInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
