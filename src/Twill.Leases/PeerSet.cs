using System.Globalization;
using System.Net;
using Twill.Core;
using Twill.Leases.Store;

namespace Twill.Leases;

public enum PeerEventKind
{
    /// <summary>The whole current set of valid peers (<see cref="PeerEvent.Peers"/>): at the start of a watch and after a resync. Replace, do not merge.</summary>
    Snapshot,

    /// <summary>A new valid peer lease (<see cref="PeerEvent.Lease"/>).</summary>
    Added,

    /// <summary>A known peer's lease changed (renewed, new VtepMAC, new public IP); <see cref="PeerEvent.Lease"/> is the new one.</summary>
    Changed,

    /// <summary>A peer's lease was deleted, expired or turned invalid; <see cref="PeerEvent.Lease"/> is the last valid one.</summary>
    Removed,
}

/// <summary>A change in the set of valid peer leases. <see cref="Peers"/> is filled for <see cref="PeerEventKind.Snapshot"/> only.</summary>
public sealed record PeerEvent(PeerEventKind Kind, Lease? Lease, IReadOnlyList<Lease> Peers)
{
    public static PeerEvent Snapshot(IReadOnlyList<Lease> peers) => new(PeerEventKind.Snapshot, null, peers);
}

/// <summary>
/// The valid peer leases, kept from store records and changes (pure, no I/O). A record is skipped,
/// with one warning naming its key, when it could hijack this node's traffic or cannot be used:
/// unparseable key, value or backend data; a subnet outside the network or not SubnetLen (IPv6SubnetLen)
/// long; a subnet overlapping ours or an earlier peer's; a public IP that is ours; a backend type other than the network's.
/// Skipped records are re-examined when the set changes (an overlap may go away).
/// It is the node's one set of peers: the watch that feeds it and the reconcile loop that reads it
/// (<see cref="ToArray"/>) may run on different threads, so every member takes the set's lock.
/// </summary>
public sealed class PeerSet(NetworkConfig config, Action<string>? warn = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LeaseRecord> _records = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Lease> _peers = new(StringComparer.Ordinal);
    private readonly SubnetIndex _index = new();
    private readonly HashSet<(string Key, long Revision)> _warned = [];
    private Lease? _own;

    /// <summary>This node's lease, never reported as a peer and protected from overlap and public-IP theft.</summary>
    public Lease? Own
    {
        get
        {
            lock (_gate)
            {
                return _own;
            }
        }
        set
        {
            lock (_gate)
            {
                _own = value;
            }
        }
    }

    /// <summary>The current valid peers (a copy).</summary>
    public IReadOnlyCollection<Lease> Peers => ToArray();

    /// <summary>The current valid peers, copied under the lock: what a reader on another thread plans from.</summary>
    public Lease[] ToArray()
    {
        lock (_gate)
        {
            return [.. _peers.Values];
        }
    }

    /// <summary>Replaces everything with a listing; returns the snapshot event.</summary>
    public PeerEvent Reset(IEnumerable<LeaseRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        lock (_gate)
        {
            return ResetLocked(records);
        }
    }

    private PeerEvent ResetLocked(IEnumerable<LeaseRecord> records)
    {
        _records.Clear();
        _peers.Clear();
        _index.Clear();
        // Earlier records win overlaps: the lease that was there first keeps its subnet.
        foreach (LeaseRecord record in records.OrderBy(r => r.Revision).ThenBy(r => r.Key, StringComparer.Ordinal))
        {
            _records[record.Key] = record;
            if (Validate(record) is Lease lease)
            {
                Accept(lease);
            }
        }
        return PeerEvent.Snapshot(SortedPeers());
    }

    /// <summary>Applies one store change; returns the peer events it causes (none, one, or more when a removal un-skips another record).</summary>
    public IReadOnlyList<PeerEvent> Apply(LeaseChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            return ApplyLocked(change);
        }
    }

    private IReadOnlyList<PeerEvent> ApplyLocked(LeaseChange change)
    {
        switch (change.Kind)
        {
            case LeaseChangeKind.Resync:
                return [ResetLocked(change.Listing?.Records ?? [])];
            case LeaseChangeKind.Put when change.Record is LeaseRecord record:
                return Put(record);
            case LeaseChangeKind.Delete:
                return Delete(change.Key);
            default:
                return [];
        }
    }

    private List<PeerEvent> Put(LeaseRecord record)
    {
        if (_records.TryGetValue(record.Key, out LeaseRecord? known) && known.Revision >= record.Revision && known.Value == record.Value)
        {
            return []; // replay of what we have (a watch overlapping its listing)
        }
        _records[record.Key] = record;
        _peers.TryGetValue(record.Key, out Lease? previous);
        if (previous is not null)
        {
            // Take the old one out first so the new value is not seen as overlapping itself.
            Unaccept(previous);
        }
        List<PeerEvent> events = [];
        if (Validate(record) is Lease lease)
        {
            Accept(lease);
            events.Add(new PeerEvent(previous is null ? PeerEventKind.Added : PeerEventKind.Changed, lease, []));
        }
        else if (previous is not null)
        {
            events.Add(new PeerEvent(PeerEventKind.Removed, previous, []));
            Reexamine(events);
        }
        return events;
    }

    private List<PeerEvent> Delete(string key)
    {
        _records.Remove(key);
        List<PeerEvent> events = [];
        if (_peers.TryGetValue(key, out Lease? previous))
        {
            Unaccept(previous);
            events.Add(new PeerEvent(PeerEventKind.Removed, previous, []));
            Reexamine(events);
        }
        return events;
    }

    /// <summary>After a peer left, records skipped for overlapping it may now be valid.</summary>
    private void Reexamine(List<PeerEvent> events)
    {
        foreach (LeaseRecord record in _records.Values.Where(r => !_peers.ContainsKey(r.Key)).OrderBy(r => r.Revision).ToList())
        {
            if (Validate(record) is Lease lease)
            {
                Accept(lease);
                events.Add(new PeerEvent(PeerEventKind.Added, lease, []));
            }
        }
    }

    private void Accept(Lease lease)
    {
        _peers[lease.Key] = lease;
        _index.Add(lease.Subnets, lease.Key);
    }

    private void Unaccept(Lease lease)
    {
        _peers.Remove(lease.Key);
        _index.Remove(lease.Subnets, lease.Key);
    }

    private Lease? Validate(LeaseRecord record)
    {
        if (_own is not null && record.Key == _own.Key)
        {
            return null; // ours, not a peer
        }
        if (!Lease.TryFromRecord(record, out Lease? lease, out string? error))
        {
            return Skip(record, error);
        }
        LeaseSubnets s = lease.Subnets;
        if (config.EnableIPv4)
        {
            if (s.IPv4 is not IPNetwork v4)
            {
                return Skip(record, $"lease {record.Key} skipped: no IPv4 subnet while the network is IPv4");
            }
            if (config.Network is not IPNetwork network || !SubnetMath.Contains(network, v4))
            {
                return Skip(record, $"lease {record.Key} skipped: subnet {v4} is outside Network {config.Network}");
            }
            if (!lease.Attrs.HasPublicIP)
            {
                return Skip(record, $"lease {record.Key} skipped: PublicIP {lease.Attrs.PublicIP} is not a usable address");
            }
        }
        else if (s.IPv4 is IPNetwork v4)
        {
            return Skip(record, $"lease {record.Key} skipped: IPv4 subnet {v4} while IPv4 is disabled");
        }
        if (s.IPv6 is IPNetwork v6 && (!config.EnableIPv6 || config.IPv6Network is not IPNetwork network6 || !SubnetMath.Contains(network6, v6)))
        {
            return Skip(record, $"lease {record.Key} skipped: subnet {v6} is outside IPv6Network {config.IPv6Network?.ToString() ?? "(IPv6 disabled)"}");
        }
        if (config.EnableIPv6 && !config.EnableIPv4 && s.IPv6 is null)
        {
            return Skip(record, $"lease {record.Key} skipped: no IPv6 subnet while the network is IPv6-only");
        }
        if (_own is not null)
        {
            if (Overlaps(s, _own.Subnets) is IPNetwork mine)
            {
                return Skip(record, $"lease {record.Key} skipped: it overlaps this node's subnet {mine}");
            }
            if (lease.Attrs.HasPublicIP && lease.Attrs.PublicIP.Equals(_own.Attrs.PublicIP))
            {
                return Skip(record, $"lease {record.Key} skipped: PublicIP {lease.Attrs.PublicIP} is this node's address");
            }
            if (lease.Attrs.PublicIPv6 is IPAddress ip6 && ip6.Equals(_own.Attrs.PublicIPv6))
            {
                return Skip(record, $"lease {record.Key} skipped: PublicIPv6 {ip6} is this node's address");
            }
        }
        if (_index.FindOverlap(s, record.Key) is string other)
        {
            return Skip(record, $"lease {record.Key} skipped: it overlaps peer lease {other}");
        }
        // Checked after the overlaps so a lease that covers ours is reported as such; a wrong-sized
        // subnet inside the network would otherwise be routed as if it were any other node's.
        if (s.IPv4 is IPNetwork len4 && config.SubnetLen > 0 && len4.PrefixLength != config.SubnetLen)
        {
            return Skip(record, $"lease {record.Key} skipped: subnet {len4} is /{len4.PrefixLength.ToString(CultureInfo.InvariantCulture)}, not SubnetLen /{config.SubnetLen.ToString(CultureInfo.InvariantCulture)}");
        }
        if (s.IPv6 is IPNetwork len6 && config.IPv6SubnetLen > 0 && len6.PrefixLength != config.IPv6SubnetLen)
        {
            return Skip(record, $"lease {record.Key} skipped: subnet {len6} is /{len6.PrefixLength.ToString(CultureInfo.InvariantCulture)}, not IPv6SubnetLen /{config.IPv6SubnetLen.ToString(CultureInfo.InvariantCulture)}");
        }
        if (lease.Attrs.BackendType != config.Backend.Type)
        {
            return Skip(record, $"lease {record.Key} skipped: BackendType \"{lease.Attrs.BackendType}\" is not this network's \"{config.Backend.Type}\"");
        }
        if (config.Backend is VxlanBackendConfig)
        {
            if (config.EnableIPv4 && !VxlanLeaseData.TryParse(lease.Attrs.BackendData, out _, out string? dataError))
            {
                return Skip(record, $"lease {record.Key} skipped: {dataError}");
            }
            if (s.IPv6 is not null && lease.Attrs.BackendV6Data is not null && !VxlanLeaseData.TryParse(lease.Attrs.BackendV6Data, out _, out string? v6Error))
            {
                return Skip(record, $"lease {record.Key} skipped: BackendV6Data: {v6Error}");
            }
        }
        return lease;
    }

    private static IPNetwork? Overlaps(LeaseSubnets a, LeaseSubnets b)
    {
        if (a.IPv4 is IPNetwork a4 && b.IPv4 is IPNetwork b4 && SubnetMath.Overlaps(a4, b4))
        {
            return b4;
        }
        if (a.IPv6 is IPNetwork a6 && b.IPv6 is IPNetwork b6 && SubnetMath.Overlaps(a6, b6))
        {
            return b6;
        }
        return null;
    }

    /// <summary>Warns about a record once per revision, as a skip here does (the lease manager's acquire reads the same records).</summary>
    public void WarnOnce(LeaseRecord record, string message)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            Skip(record, message);
        }
    }

    private Lease? Skip(LeaseRecord record, string message)
    {
        if (_warned.Add((record.Key, record.Revision)))
        {
            warn?.Invoke(message);
        }
        return null;
    }

    private List<Lease> SortedPeers() => [.. _peers.Values.OrderBy(l => l.Key, StringComparer.Ordinal)];
}
