using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Twill.Core;
using Twill.Leases.Store;

namespace Twill.Leases.Kube;

/// <summary>
/// Kubernetes as the lease store, as Flannel's <c>--kube-subnet-mgr</c>: each node's lease is its pod
/// CIDR(s) and Flannel's annotations on the Node object. The records are the Flannel nodes in the lease
/// form every store hands out (key <c>10.244.3.0-24</c>, value Flannel's lease JSON, see
/// <see cref="NodeLeaseTable"/>), so the lease manager, the plans and the reconciler do not know which
/// store fed them. What differs is declared by <see cref="IAssignedSubnetStore"/>: the cluster assigns
/// the subnet, there is no TTL, and the node reports NetworkUnavailable=False once its data path is up.
/// </summary>
/// <remarks>
/// One consumer at a time: <see cref="ListAsync"/> resets the node table that <see cref="WatchAsync"/>
/// then keeps, as the lease manager calls them (list, then watch from the list's resourceVersion).
/// </remarks>
public sealed partial class KubeLeaseStore : ILeaseStore, IAssignedSubnetStore
{
    private readonly KubeStoreOptions _options;
    private readonly KubeConnection _connection;
    private readonly KubeApi _api;
    private readonly NodeLeaseTable _table;
    private readonly Lock _gate = new();
    private readonly Action<string> _warn;
    private string? _nodeName;
    private LeaseSubnets? _assigned;

    /// <param name="warn">Told of every skipped node (once per problem) and of retries; the agent logs it as a warning.</param>
    public KubeLeaseStore(KubeStoreOptions options, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Annotations = KubeAnnotations.Create(options.AnnotationPrefix);
        _connection = KubeConnection.Create(options);
        _api = new KubeApi(_connection, Annotations.Prefix, options.RequestTimeout);
        _warn = warn ?? (_ => { });
        _table = new NodeLeaseTable(Annotations, _warn);
        _nodeName = options.NodeName;
    }

    public KubeAnnotations Annotations { get; }

    /// <summary>Told why a watch broke and how it resumes; for the caller's log.</summary>
    public Action<string>? WatchProblem { get; init; }

    public string Description => $"kube:{_connection.BaseUri.GetLeftPart(UriPartial.Authority)}" + (_nodeName is null ? "" : $" (node {_nodeName})");

    /// <summary>Kubernetes keeps no net-conf.json in the API: it is the kube-flannel ConfigMap's file (--net-config-path).</summary>
    public Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    /// <summary>This node's name: NODE_NAME, else spec.nodeName of the pod POD_NAMESPACE/POD_NAME.</summary>
    public async Task<string> GetNodeNameAsync(CancellationToken cancellationToken)
    {
        if (_nodeName is not null)
        {
            return _nodeName;
        }
        if (string.IsNullOrEmpty(_options.PodName) || string.IsNullOrEmpty(_options.PodNamespace))
        {
            throw new InvalidOperationException("--kube-subnet-mgr: set NODE_NAME, or POD_NAME and POD_NAMESPACE (the pod whose spec.nodeName is this node)");
        }
        string? name = await _api.GetPodNodeNameAsync(_options.PodNamespace, _options.PodName, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(name))
        {
            throw new InvalidOperationException($"pod {_options.PodNamespace}/{_options.PodName} has no spec.nodeName: it is not scheduled on a node");
        }
        _nodeName = name;
        return name;
    }

    public async Task<LeaseListing> ListAsync(CancellationToken cancellationToken)
    {
        (List<ListedNode> nodes, long revision) = await ListNodesAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            return new LeaseListing(_table.Reset(nodes), revision);
        }
    }

    /// <summary>
    /// Every node, page by page (limit/continue), each page read into table entries as it arrives; the
    /// list's resourceVersion is the first page's (the continue token pins the snapshot).
    /// </summary>
    private async Task<(List<ListedNode> Nodes, long Revision)> ListNodesAsync(CancellationToken cancellationToken)
    {
        List<ListedNode> nodes = [];
        string? cont = null;
        long revision = 0;
        do
        {
            NodePage page = await _api.ListNodesAsync(_options.ListPageSize, cont, cancellationToken).ConfigureAwait(false);
            if (cont is null)
            {
                revision = page.ResourceVersion;
            }
            // Only Flannel's nodes are kept; a kubelet-only node costs nothing past its page.
            lock (_gate)
            {
                foreach (NodeSummary node in page.Nodes)
                {
                    if (node.Annotations.Count > 0)
                    {
                        nodes.Add(_table.Read(node));
                    }
                }
            }
            cont = page.Continue;
        }
        while (!string.IsNullOrEmpty(cont));
        return (nodes, revision);
    }

    /// <summary>
    /// Publishing is the only creation there is: this node's record is created by annotating it, and only
    /// on the subnet the cluster assigned (null for any other key: that subnet is not this node's to take).
    /// </summary>
    public async Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (_assigned is not LeaseSubnets assigned || assigned.ToKey() != key)
        {
            return null;
        }
        return await UpdateAsync(key, value, ttl, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes this node's lease value as Flannel's annotations, patching the node's status
    /// subresource with a strategic merge patch only when an annotation differs (as Flannel).
    /// <paramref name="ttl"/> and <paramref name="expectedRevision"/> do not apply: a node has no TTL,
    /// and it alone writes its annotations.
    /// </summary>
    public async Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken)
    {
        string name = await GetNodeNameAsync(cancellationToken).ConfigureAwait(false);
        if (_assigned is not LeaseSubnets assigned)
        {
            throw new InvalidOperationException("publish after WaitForAssignedSubnetsAsync: the node's subnet is the cluster's choice");
        }
        if (assigned.ToKey() != key)
        {
            throw new LeaseConflictException($"node {name}'s podCIDR is {assigned}, not {key}: a node publishes only on its own podCIDR");
        }
        if (!LeaseAttrs.TryParse(value, out LeaseAttrs? attrs, out string? error))
        {
            throw new ArgumentException($"lease value for node {name}: {error}", nameof(value));
        }
        NodeSummary node = await _api.GetNodeAsync(name, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<KeyValuePair<string, string>> wanted = _table.Codec.OwnAnnotations(attrs, node);
        if (!NodeLeaseCodec.HasAll(node, wanted))
        {
            node = await _api.PatchNodeStatusAsync(name, NodeLeaseCodec.AnnotationPatch(wanted), cancellationToken).ConfigureAwait(false);
        }
        return new LeaseRecord(key, value, DateTimeOffset.MaxValue, node.ResourceVersion);
    }

    /// <summary>
    /// Deleting this node's record removes its Flannel annotations (a node leaving the pod network for
    /// good: peers then drop its routes); another node's record is not this node's to delete.
    /// </summary>
    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        if (_assigned is not LeaseSubnets assigned || assigned.ToKey() != key)
        {
            return false;
        }
        string name = await GetNodeNameAsync(cancellationToken).ConfigureAwait(false);
        NodeSummary node = await _api.GetNodeAsync(name, cancellationToken).ConfigureAwait(false);
        string[] ours =
        [
            Annotations.KubeSubnetManager, Annotations.BackendType, Annotations.BackendData, Annotations.PublicIP,
            Annotations.BackendV6Data, Annotations.PublicIPv6,
        ];
        string[] present = [.. ours.Where(a => node.Annotation(a) is not null)];
        if (present.Length == 0)
        {
            return false;
        }
        await _api.PatchNodeStatusAsync(name, RemovalPatch(present), cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<LeaseSubnets> WaitForAssignedSubnetsAsync(NetworkConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        string name = await GetNodeNameAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            NodeSummary? node = null;
            string? problem;
            try
            {
                node = await _api.GetNodeAsync(name, cancellationToken).ConfigureAwait(false);
                problem = null;
            }
            catch (KubeApiException e) when (e.IsNotFound)
            {
                problem = $"node {name} does not exist (yet): is the kubelet registered with this name (NODE_NAME)?";
            }
            catch (KubeApiException e) when (e.Status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden))
            {
                problem = e.Message;
            }
            if (node is not null)
            {
                if (!NodeLeaseCodec.TryReadPodCidrs(node, out IPNetwork? v4, out IPNetwork? v6, out string? error))
                {
                    throw new InvalidOperationException(error);
                }
                if ((config.EnableIPv4 && v4 is null) || (config.EnableIPv6 && v6 is null))
                {
                    // Family-qualified only when the node has a podCIDR of the other family (dual-stack half-assigned).
                    string family = v4 is null && v6 is null ? "" : v4 is null ? "IPv4 " : "IPv6 ";
                    problem = $"node {name} has no {family}podCIDR: is kube-controller-manager running with --allocate-node-cidrs?";
                }
                else
                {
                    LeaseSubnets subnets = CheckAssigned(name, config, v4, v6);
                    _assigned = subnets;
                    lock (_gate)
                    {
                        _table.Configure(config, name, subnets);
                    }
                    return subnets;
                }
            }
            _warn($"{problem}; retrying in {_options.PodCidrRetryInterval.TotalSeconds:F0} s");
            await Task.Delay(_options.PodCidrRetryInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private static LeaseSubnets CheckAssigned(string name, NetworkConfig config, IPNetwork? v4, IPNetwork? v6)
    {
        if (config.EnableIPv4 && (config.Network is not IPNetwork network || !SubnetMath.Contains(network, v4!.Value)))
        {
            throw new InvalidOperationException($"node {name}'s podCIDR {v4} is outside the Network {config.Network} of net-conf.json: kube-controller-manager's --cluster-cidr and net-conf.json must agree");
        }
        if (config.EnableIPv6 && (config.IPv6Network is not IPNetwork network6 || !SubnetMath.Contains(network6, v6!.Value)))
        {
            throw new InvalidOperationException($"node {name}'s IPv6 podCIDR {v6} is outside the IPv6Network {config.IPv6Network} of net-conf.json: kube-controller-manager's --cluster-cidr and net-conf.json must agree");
        }
        return new LeaseSubnets(config.EnableIPv4 ? v4 : null, config.EnableIPv6 ? v6 : null);
    }

    public async Task<AssignedNodeState> ReadOwnStateAsync(CancellationToken cancellationToken)
    {
        string name = await GetNodeNameAsync(cancellationToken).ConfigureAwait(false);
        NodeSummary node;
        try
        {
            node = await _api.GetNodeAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            // Not registered yet: nothing published; WaitForAssignedSubnetsAsync waits for it.
            return new AssignedNodeState(name, null, null, null, null);
        }
        NodeLeaseCodec codec = _table.Codec;
        if (!codec.TryNodePublicIP(node, AddressFamily.InterNetwork, out IPAddress? ip, out string? error)
            || !codec.TryNodePublicIP(node, AddressFamily.InterNetworkV6, out IPAddress? ip6, out error))
        {
            throw new InvalidOperationException(error);
        }
        return new AssignedNodeState(name,
            codec.PublishedVxlanData(node, AddressFamily.InterNetwork)?.VtepMac,
            codec.PublishedVxlanData(node, AddressFamily.InterNetworkV6)?.VtepMac,
            ip, ip6);
    }

    public async Task MarkNetworkAvailableAsync(CancellationToken cancellationToken)
    {
        if (!_options.SetNodeNetworkUnavailable)
        {
            return;
        }
        string name = await GetNodeNameAsync(cancellationToken).ConfigureAwait(false);
        await _api.PatchNodeStatusAsync(name, NodeLeaseCodec.NetworkAvailablePatch(_options.TimeProvider.GetUtcNow()), cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _connection.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A strategic merge patch deleting annotations (a null value deletes a map key).</summary>
    private static string RemovalPatch(IEnumerable<string> annotations)
    {
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteStartObject("annotations");
            foreach (string a in annotations)
            {
                w.WriteNull(a);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
