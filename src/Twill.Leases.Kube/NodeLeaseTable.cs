using System.Net;
using Twill.Core;
using Twill.Leases.Store;

namespace Twill.Leases.Kube;

/// <summary>
/// The nodes seen through the API, turned into the store's lease records (key = Flannel's subnet key
/// from the node's pod CIDRs, value = Flannel's lease JSON) and kept per node as no more than that:
/// key, value, the public addresses it claims. Pure; the store feeds it listings and watch events and
/// passes on the <see cref="LeaseChange"/>s it returns.
/// </summary>
/// <remarks>
/// What a node object says cannot hijack a route: a node whose annotations are corrupt, whose podCIDR
/// lies outside the network or overlaps this node's, or that claims a subnet or public IP another node
/// already holds is not a record, with one warning naming the node (repeated only when what is wrong
/// changes). This node's claims come first; among others the older node (creationTimestamp) keeps its
/// claim, and a skipped node is looked at again when the holder leaves. A node's kubelet heartbeats
/// (new resourceVersion, same annotations) change nothing and produce no change.
/// </remarks>
public sealed class NodeLeaseTable(KubeAnnotations annotations, Action<string>? warn = null)
{
    private readonly Dictionary<string, Entry> _nodes = new(StringComparer.Ordinal);
    // Claims → the node holding them: a subnet key, a public address. Keyed by what the record already holds, so a claim costs no string.
    private readonly Dictionary<string, string> _subnetClaims = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddress, string> _addressClaims = [];
    private readonly Dictionary<string, string> _warnings = new(StringComparer.Ordinal); // node → last warning
    private NodeLeaseCodec _codec = new(annotations, enableIPv4: true, enableIPv6: false);
    private NetworkConfig? _config;
    private LeaseSubnets? _own;

    /// <summary>This node's name: its claims win, and it is protected from overlap.</summary>
    public string? OwnName { get; private set; }

    public NodeLeaseCodec Codec => _codec;

    /// <summary>Number of nodes held (accepted or not), for tests and metrics.</summary>
    public int Count => _nodes.Count;

    /// <summary>
    /// Sets the network (which families are read, the bounds podCIDRs must lie in) and this node's name
    /// and subnets. Until called, IPv4 is read and nothing is checked against a network (a plain listing).
    /// </summary>
    public void Configure(NetworkConfig config, string ownName, LeaseSubnets? ownSubnets)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _codec = new NodeLeaseCodec(annotations, config.EnableIPv4, config.EnableIPv6);
        OwnName = ownName;
        _own = ownSubnets;
    }

    /// <summary>Replaces everything with a full listing; returns the accepted records.</summary>
    public IReadOnlyList<LeaseRecord> Reset(IEnumerable<NodeSummary> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        return Reset([.. nodes.Select(Read)]);
    }

    /// <summary>
    /// A listed node as the table will hold it, read while its page is at hand: a listing of thousands of
    /// nodes then holds what the table keeps of each (its lease record), not the nodes. Reads the
    /// configuration only (<see cref="Configure"/>), not the nodes held.
    /// </summary>
    public ListedNode Read(NodeSummary node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return new ListedNode(node.Name, Translate(node));
    }

    /// <summary>Replaces everything with a full listing read by <see cref="Read"/>; returns the accepted records.</summary>
    public IReadOnlyList<LeaseRecord> Reset(IReadOnlyList<ListedNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        HashSet<string> held = [.. _nodes.Values.Where(e => e.Accepted).Select(e => e.Name)];
        _nodes.Clear();
        _subnetClaims.Clear();
        _addressClaims.Clear();
        foreach (ListedNode node in nodes)
        {
            if (node.Entry is Entry entry)
            {
                // Who held a claim before the re-list keeps it: a re-list must not hand it to a newcomer.
                _nodes[node.Name] = entry with { HeldBefore = held.Contains(node.Name) };
            }
            else
            {
                _warnings.Remove(node.Name);
            }
        }
        foreach (Entry entry in ByPriority(_nodes.Values))
        {
            TryAccept(entry);
        }
        foreach (string name in _warnings.Keys.Where(n => !_nodes.ContainsKey(n)).ToList())
        {
            _warnings.Remove(name);
        }
        return Records();
    }

    /// <summary>The accepted records, ordered by key.</summary>
    public IReadOnlyList<LeaseRecord> Records() =>
        [.. _nodes.Values.Where(e => e.Accepted).Select(e => e.Record!).OrderBy(r => r.Key, StringComparer.Ordinal)];

    /// <summary>A node was added or modified.</summary>
    public IReadOnlyList<LeaseChange> Upsert(NodeSummary node, long revision)
    {
        ArgumentNullException.ThrowIfNull(node);
        Entry? next = Translate(node);
        _nodes.TryGetValue(node.Name, out Entry? previous);
        if (previous is not null && next is not null && previous.Record?.Key == next.Record?.Key && previous.Record?.Value == next.Record?.Value
            && previous.Error == next.Error && previous.Created == next.Created)
        {
            return []; // a heartbeat or a change of something the lease does not hold
        }
        List<LeaseChange> changes = [];
        bool wasAccepted = previous?.Accepted == true;
        if (previous is not null)
        {
            _nodes.Remove(node.Name);
            if (wasAccepted)
            {
                Release(previous);
            }
        }
        bool nowAccepted = false;
        if (next is null)
        {
            _warnings.Remove(node.Name);
        }
        else
        {
            next = next with { HeldBefore = wasAccepted };
            _nodes[node.Name] = next;
            nowAccepted = TryAccept(next);
        }
        if (wasAccepted && (!nowAccepted || next!.Record!.Key != previous!.Record!.Key))
        {
            changes.Add(Delete(previous!.Record!.Key, revision));
        }
        if (nowAccepted)
        {
            changes.Add(new LeaseChange(LeaseChangeKind.Put, next!.Record!.Key, next.Record, null, revision));
        }
        if (wasAccepted)
        {
            Reexamine(changes, revision);
        }
        return changes;
    }

    /// <summary>A node was deleted.</summary>
    public IReadOnlyList<LeaseChange> Remove(string name, long revision)
    {
        _warnings.Remove(name);
        if (!_nodes.Remove(name, out Entry? previous) || !previous.Accepted)
        {
            return [];
        }
        Release(previous);
        List<LeaseChange> changes = [Delete(previous.Record!.Key, revision)];
        Reexamine(changes, revision);
        return changes;
    }

    private static LeaseChange Delete(string key, long revision) => new(LeaseChangeKind.Delete, key, null, null, revision);

    private void Reexamine(List<LeaseChange> changes, long revision)
    {
        foreach (Entry entry in ByPriority(_nodes.Values.Where(e => !e.Accepted && e.Record is not null)).ToList())
        {
            if (TryAccept(entry))
            {
                changes.Add(new LeaseChange(LeaseChangeKind.Put, entry.Record!.Key, entry.Record, null, revision));
            }
        }
    }

    private IEnumerable<Entry> ByPriority(IEnumerable<Entry> entries) =>
        entries.OrderBy(e => e.Name == OwnName ? 0 : e.HeldBefore ? 1 : 2)
            .ThenBy(e => e.Created)
            .ThenBy(e => e.Name, StringComparer.Ordinal);

    /// <summary>The node as an entry, or null when it is not a Flannel node (no kube-subnet-manager annotation).</summary>
    private Entry? Translate(NodeSummary node)
    {
        if (!_codec.IsManaged(node))
        {
            return null;
        }
        if (!_codec.TryReadLease(node, out LeaseSubnets subnets, out LeaseAttrs? attrs, out string? error))
        {
            return new Entry(node.Name, CreatedTicks(node), null, null, null, $"node {node.Name} skipped: {StripNode(error, node.Name)}");
        }
        string? problem = CheckBounds(node.Name, subnets);
        if (problem is not null)
        {
            return new Entry(node.Name, CreatedTicks(node), null, null, null, problem);
        }
        LeaseRecord record = new(subnets.ToKey(), attrs.ToJson(), DateTimeOffset.MaxValue, node.ResourceVersion);
        return new Entry(node.Name, CreatedTicks(node), record, attrs.HasPublicIP ? attrs.PublicIP : null, attrs.PublicIPv6, null);
    }

    private string? CheckBounds(string name, LeaseSubnets subnets)
    {
        if (_config is not null)
        {
            if (subnets.IPv4 is IPNetwork v4 && (_config.Network is not IPNetwork network || !SubnetMath.Contains(network, v4)))
            {
                return $"node {name} skipped: podCIDR {v4} is outside Network {_config.Network}";
            }
            if (subnets.IPv6 is IPNetwork v6 && (_config.IPv6Network is not IPNetwork network6 || !SubnetMath.Contains(network6, v6)))
            {
                return $"node {name} skipped: podCIDR {v6} is outside IPv6Network {_config.IPv6Network}";
            }
        }
        if (name != OwnName && _own is LeaseSubnets own)
        {
            if (subnets.IPv4 is IPNetwork a4 && own.IPv4 is IPNetwork b4 && SubnetMath.Overlaps(a4, b4))
            {
                return $"node {name} skipped: podCIDR {a4} overlaps this node's {b4}";
            }
            if (subnets.IPv6 is IPNetwork a6 && own.IPv6 is IPNetwork b6 && SubnetMath.Overlaps(a6, b6))
            {
                return $"node {name} skipped: podCIDR {a6} overlaps this node's {b6}";
            }
        }
        return null;
    }

    private bool TryAccept(Entry entry)
    {
        if (entry.Record is null)
        {
            Warn(entry.Name, entry.Error!);
            return false;
        }
        string key = entry.Record.Key;
        if (_subnetClaims.TryGetValue(key, out string? holder) && holder != entry.Name)
        {
            Warn(entry.Name, $"node {entry.Name} skipped: its podCIDR {LeaseSubnets.ParseKey(key)} is node {holder}'s");
            return false;
        }
        foreach ((IPAddress? ip, string what) in new[] { (entry.PublicIP, "public-ip"), (entry.PublicIPv6, "public-ipv6") })
        {
            if (ip is not null && _addressClaims.TryGetValue(ip, out holder) && holder != entry.Name)
            {
                Warn(entry.Name, $"node {entry.Name} skipped: its {what} {ip} is node {holder}'s");
                return false;
            }
        }
        _subnetClaims[key] = entry.Name;
        if (entry.PublicIP is not null)
        {
            _addressClaims[entry.PublicIP] = entry.Name;
        }
        if (entry.PublicIPv6 is not null)
        {
            _addressClaims[entry.PublicIPv6] = entry.Name;
        }
        entry.Accepted = true;
        _warnings.Remove(entry.Name);
        return true;
    }

    private void Release(Entry entry)
    {
        if (_subnetClaims.TryGetValue(entry.Record!.Key, out string? holder) && holder == entry.Name)
        {
            _subnetClaims.Remove(entry.Record.Key);
        }
        foreach (IPAddress? ip in new[] { entry.PublicIP, entry.PublicIPv6 })
        {
            if (ip is not null && _addressClaims.TryGetValue(ip, out holder) && holder == entry.Name)
            {
                _addressClaims.Remove(ip);
            }
        }
        entry.Accepted = false;
    }

    private void Warn(string name, string message)
    {
        if (_warnings.TryGetValue(name, out string? last) && last == message)
        {
            return;
        }
        _warnings[name] = message;
        warn?.Invoke(message);
    }

    /// <summary>creationTimestamp as UTC ticks; a node without one sorts last (it cannot prove it was first).</summary>
    private static long CreatedTicks(NodeSummary node) =>
        DateTimeOffset.TryParse(node.Created, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset t)
            ? t.UtcTicks
            : long.MaxValue;

    private static string StripNode(string error, string name) =>
        error.StartsWith($"node {name}: ", StringComparison.Ordinal) ? error[(name.Length + 7)..]
        : error.StartsWith($"node {name} ", StringComparison.Ordinal) ? error[(name.Length + 6)..]
        : error;

    /// <summary>One node as held: its record when it reads as a lease, or why not; the claims the record makes.</summary>
    internal sealed record Entry(string Name, long Created, LeaseRecord? Record, IPAddress? PublicIP, IPAddress? PublicIPv6, string? Error)
    {
        public bool Accepted { get; set; }

        public bool HeldBefore { get; init; }
    }
}

/// <summary>A node of a listing, read by <see cref="NodeLeaseTable.Read"/>: its name and what the table will hold of it (nothing for a node that is not Flannel's).</summary>
public readonly struct ListedNode
{
    internal ListedNode(string name, NodeLeaseTable.Entry? entry)
    {
        Name = name;
        Entry = entry;
    }

    public string Name { get; }

    internal NodeLeaseTable.Entry? Entry { get; }
}
