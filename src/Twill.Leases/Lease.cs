using System.Diagnostics.CodeAnalysis;
using Twill.Leases.Store;

namespace Twill.Leases;

/// <summary>
/// A node's subnet lease: its subnet(s), its attributes (public IPs, backend data), when it expires
/// and the store revision it was read at.
/// </summary>
public sealed record Lease(LeaseSubnets Subnets, LeaseAttrs Attrs, DateTimeOffset Expiration, long Revision)
{
    private readonly LeaseSubnets _subnets = Subnets;

    public LeaseSubnets Subnets
    {
        get => _subnets;
        init
        {
            _subnets = value;
            Key = value.ToKey();
        }
    }

    /// <summary>
    /// The store key (Flannel's): <c>10.244.3.0-24</c>. Made once: the peer set, its subnet index and every
    /// plan input name a peer by it, and at 5,000 peers a key per use was a string per peer per pass.
    /// </summary>
    public string Key { get; private init; } = Subnets.ToKey();

    /// <summary>Reads a store record; false with a reason naming the key when the key or value is malformed.</summary>
    public static bool TryFromRecord(LeaseRecord record, [NotNullWhen(true)] out Lease? lease, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(record);
        lease = null;
        if (!LeaseSubnets.TryParseKey(record.Key, out LeaseSubnets subnets, out string? keyError))
        {
            error = $"lease key '{record.Key}' {keyError}";
            return false;
        }
        if (!LeaseAttrs.TryParse(record.Value, out LeaseAttrs? attrs, out string? valueError))
        {
            error = $"lease {record.Key}: {valueError}";
            return false;
        }
        lease = new Lease(subnets, attrs, record.Expiration, record.Revision);
        error = null;
        return true;
    }

    public override string ToString() => $"{Subnets} ({Attrs.BackendType} {Attrs.PublicIP}, expires {Expiration:u})";
}

/// <summary>No free subnet is left in the pool.</summary>
public sealed class SubnetPoolExhaustedException(string message) : Exception(message);

/// <summary>This node's lease vanished or was taken by another node; the agent must not keep routing it.</summary>
public sealed class LeaseLostException(string message) : Exception(message);
