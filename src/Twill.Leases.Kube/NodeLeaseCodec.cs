using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Twill.Core;

namespace Twill.Leases.Kube;

/// <summary>
/// Flannel's kube subnet manager formats (pkg/subnet/kube), in both directions: a Node's annotations
/// and pod CIDRs read as a lease (nodeToLease), and this node's lease written as the annotation patch
/// and the NetworkUnavailable condition Flannel sends. Pure.
/// </summary>
public sealed class NodeLeaseCodec(KubeAnnotations annotations, bool enableIPv4, bool enableIPv6)
{
    /// <summary>Flannel's reason and message on the NetworkUnavailable=False condition it sets.</summary>
    public const string ConditionReason = "FlannelIsUp";

    public const string ConditionMessage = "Flannel is running on this node";

    public KubeAnnotations Annotations { get; } = annotations;

    /// <summary>True when the node carries <c>kube-subnet-manager: "true"</c> (Flannel ignores every other node).</summary>
    public bool IsManaged(NodeSummary node) => node.Annotation(Annotations.KubeSubnetManager) == "true";

    /// <summary>
    /// This node's pod CIDRs, one per family: <c>spec.podCIDRs</c> (at most two, Kubernetes' dual-stack
    /// rule), else <c>spec.podCIDR</c>. Null subnets when none is assigned yet; an error naming the node
    /// and the value when one is not a CIDR.
    /// </summary>
    public static bool TryReadPodCidrs(NodeSummary node, out IPNetwork? ipv4, out IPNetwork? ipv6, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(node);
        ipv4 = null;
        ipv6 = null;
        IReadOnlyList<string> cidrs = node.PodCIDRs.Count > 0 ? node.PodCIDRs
            : string.IsNullOrEmpty(node.PodCIDR) ? [] : [node.PodCIDR];
        if (cidrs.Count > 2)
        {
            error = $"node {node.Name}: spec.podCIDRs has {cidrs.Count} entries; at most one IPv4 and one IPv6 CIDR are allowed";
            return false;
        }
        foreach (string text in cidrs)
        {
            if (!SubnetMath.TryParseNetwork(text, out IPNetwork cidr, out string? why))
            {
                error = $"node {node.Name}: podCIDR '{text}' {why}";
                return false;
            }
            if (cidr.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
            {
                ipv4 ??= cidr;
            }
            else
            {
                ipv6 ??= cidr;
            }
        }
        error = null;
        return true;
    }

    /// <summary>
    /// The node's lease as Flannel's nodeToLease reads it: for IPv4 the public-ip annotation, backend-data
    /// and the IPv4 pod CIDR; for IPv6 public-ipv6, backend-v6-data and the IPv6 pod CIDR; backend-type.
    /// An error (naming the node, the annotation and the value) when one of those is missing or malformed.
    /// </summary>
    public bool TryReadLease(NodeSummary node, out LeaseSubnets subnets, [NotNullWhen(true)] out LeaseAttrs? attrs, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(node);
        subnets = default;
        attrs = null;
        if (!TryReadPodCidrs(node, out IPNetwork? v4, out IPNetwork? v6, out error))
        {
            return false;
        }
        LeaseAttrs result = new() { BackendType = node.Annotation(Annotations.BackendType) ?? "" };
        if (enableIPv4)
        {
            if (!TryReadFamily(node, v4, AddressFamily.InterNetwork, Annotations.PublicIP, Annotations.BackendData, result.BackendType, out IPAddress? ip, out string? data, out error))
            {
                return false;
            }
            result = result with { PublicIP = ip, BackendData = data };
        }
        if (enableIPv6)
        {
            if (!TryReadFamily(node, v6, AddressFamily.InterNetworkV6, Annotations.PublicIPv6, Annotations.BackendV6Data, result.BackendType, out IPAddress? ip6, out string? data6, out error))
            {
                return false;
            }
            result = result with { PublicIPv6 = ip6, BackendV6Data = data6 };
        }
        subnets = new LeaseSubnets(enableIPv4 ? v4 : null, enableIPv6 ? v6 : null);
        attrs = result;
        error = null;
        return true;
    }

    /// <summary>
    /// The annotations this node publishes for <paramref name="attrs"/>, byte for byte as Flannel's
    /// AcquireLease: backend-type, backend-data (<c>null</c> when the backend has none, as Go marshals a
    /// nil RawMessage), public-ip (or the administrator's public-ip-overwrite), the IPv6 forms when the
    /// node has an IPv6 address, and kube-subnet-manager "true".
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> OwnAnnotations(LeaseAttrs attrs, NodeSummary current)
    {
        ArgumentNullException.ThrowIfNull(attrs);
        ArgumentNullException.ThrowIfNull(current);
        List<KeyValuePair<string, string>> result = [new(Annotations.BackendType, attrs.BackendType)];
        string data = attrs.BackendData ?? "null";
        // Flannel publishes v4 data unless it is a vxlan lease without IPv4 data (an IPv6-only vxlan node).
        if (attrs.BackendType != "vxlan" || data != "null")
        {
            result.Add(new(Annotations.BackendData, data));
            string? overwrite = Nonempty(current.Annotation(Annotations.PublicIPOverwrite));
            result.Add(new(Annotations.PublicIP, overwrite ?? attrs.PublicIP.ToString()));
        }
        string data6 = attrs.BackendV6Data ?? "null";
        if (attrs.PublicIPv6 is IPAddress ip6 && (attrs.BackendType != "vxlan" || data6 != "null"))
        {
            result.Add(new(Annotations.BackendV6Data, data6));
            string? overwrite6 = Nonempty(current.Annotation(Annotations.PublicIPv6Overwrite));
            result.Add(new(Annotations.PublicIPv6, overwrite6 ?? ip6.ToString()));
        }
        result.Add(new(Annotations.KubeSubnetManager, "true"));
        return result;
    }

    /// <summary>True when the node already carries exactly <paramref name="wanted"/> (Flannel then sends no patch).</summary>
    public static bool HasAll(NodeSummary node, IReadOnlyList<KeyValuePair<string, string>> wanted) =>
        wanted.All(kv => node.Annotation(kv.Key) == kv.Value);

    /// <summary>The strategic-merge patch of the annotations: <c>{"metadata":{"annotations":{...}}}</c>, keys sorted as Go's encoder sorts map keys.</summary>
    public static string AnnotationPatch(IEnumerable<KeyValuePair<string, string>> annotations)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteStartObject("annotations");
            foreach ((string key, string value) in annotations.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteString(key, value);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>
    /// Flannel's CompleteLease patch of the status: one condition NetworkUnavailable=False, reason
    /// FlannelIsUp, merged by type into the node's conditions (strategic merge, patchMergeKey "type").
    /// </summary>
    public static string NetworkAvailablePatch(DateTimeOffset now)
    {
        string time = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream))
        {
            w.WriteStartObject();
            w.WriteStartObject("status");
            w.WriteStartArray("conditions");
            w.WriteStartObject();
            w.WriteString("type", "NetworkUnavailable");
            w.WriteString("status", "False");
            w.WriteString("lastHeartbeatTime", time);
            w.WriteString("lastTransitionTime", time);
            w.WriteString("reason", ConditionReason);
            w.WriteString("message", ConditionMessage);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The VtepMAC this node published before (its backend-data or backend-v6-data), or null: reused so peers' FDB entries stay valid.</summary>
    public VxlanLeaseData? PublishedVxlanData(NodeSummary node, AddressFamily family)
    {
        ArgumentNullException.ThrowIfNull(node);
        string? text = node.Annotation(family == AddressFamily.InterNetworkV6 ? Annotations.BackendV6Data : Annotations.BackendData);
        return VxlanLeaseData.TryParse(text, out VxlanLeaseData? data, out _) ? data : null;
    }

    /// <summary>The administrator's node-public-ip (or node-public-ipv6) annotation, which Flannel takes over --public-ip; an error when it is not an address.</summary>
    public bool TryNodePublicIP(NodeSummary node, AddressFamily family, out IPAddress? address, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(node);
        string name = family == AddressFamily.InterNetworkV6 ? Annotations.NodePublicIPv6 : Annotations.NodePublicIP;
        address = null;
        error = null;
        if (Nonempty(node.Annotation(name)) is not string text)
        {
            return true;
        }
        if (!SubnetMath.TryParseAddress(text, out IPAddress? ip) || ip.AddressFamily != family)
        {
            error = $"node {node.Name}: annotation {name} '{text}' is not an {(family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} address";
            return false;
        }
        address = ip;
        return true;
    }

    /// <summary>One family's part of the lease: its pod CIDR present, its public-ip and backend-data annotations readable.</summary>
    private static bool TryReadFamily(NodeSummary node, IPNetwork? cidr, AddressFamily family, string publicIPName, string backendDataName, string backendType,
        [NotNullWhen(true)] out IPAddress? ip, out string? data, [NotNullWhen(false)] out string? error)
    {
        data = null;
        if (cidr is null)
        {
            ip = null;
            error = $"node {node.Name} has no {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} podCIDR";
            return false;
        }
        if (!TryAddress(node, publicIPName, family, out ip, out error))
        {
            return false;
        }
        return TryBackendData(node, backendDataName, backendType, out data, out error);
    }

    private static bool TryAddress(NodeSummary node, string name, AddressFamily family, [NotNullWhen(true)] out IPAddress? address, [NotNullWhen(false)] out string? error)
    {
        string? text = node.Annotation(name);
        if (!SubnetMath.TryParseAddress(text, out address) || address.AddressFamily != family)
        {
            address = null;
            error = text is null
                ? $"node {node.Name} has no annotation {name}"
                : $"node {node.Name}: annotation {name} '{Truncate(text)}' is not an {(family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} address";
            return false;
        }
        error = null;
        return true;
    }

    private static bool TryBackendData(NodeSummary node, string name, string backendType, out string? data, [NotNullWhen(false)] out string? error)
    {
        data = null;
        error = null;
        string? text = node.Annotation(name);
        if (text is null or "null")
        {
            return true;
        }
        try
        {
            using JsonDocument doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = $"node {node.Name}: annotation {name} '{Truncate(text)}' is not a JSON object";
                return false;
            }
        }
        catch (JsonException e)
        {
            error = $"node {node.Name}: annotation {name} '{Truncate(text)}' is not valid JSON: {e.Message}";
            return false;
        }
        // vxlan data is read here too, so a bad VNI or VtepMAC is reported with the node's name.
        if (backendType == "vxlan" && !VxlanLeaseData.TryParse(text, out _, out string? vxlanError))
        {
            error = $"node {node.Name}: annotation {name}: {vxlanError}";
            return false;
        }
        data = text;
        return true;
    }

    private static string? Nonempty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
