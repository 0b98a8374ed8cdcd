using System.Text.Json;

namespace Twill.Lab;

/// <summary>
/// One Node as <c>twill lab status</c> shows it with <c>--store kube</c>: Flannel's annotations
/// (backend-type, public-ip, the VtepMAC of backend-data, and the IPv6 forms) and the node's
/// NetworkUnavailable condition. "-" for what the node does not carry.
/// </summary>
public sealed record KubeNodeStatus(string Node, string PodCidrs, string BackendType, string PublicIP, string VtepMac,
    string PublicIPv6, string VtepMacV6, string NetworkUnavailable);

/// <summary>Reads the lab's Nodes through kubectl (the admin kubeconfig, from the control-plane namespace).</summary>
public static class LabKubeStatus
{
    private const string Prefix = "flannel.alpha.coreos.com/";

    /// <summary>The nodes, or the reason they cannot be read (the stand-in down, kubectl missing).</summary>
    public static IReadOnlyList<KubeNodeStatus> Collect(LabState state, LabPaths paths, out string? problem)
    {
        string cp = TopologyPlanner.LabPrefix(state.Name) + "cp";
        KubeControlPlane.ToolResult r = KubeControlPlane.Kubectl(cp, paths.Kubeconfig, ["get", "nodes", "-o", "json"], null);
        if (r.ExitCode != 0)
        {
            problem = $"kubectl get nodes: exit {r.ExitCode}: {r.Output.Trim()}";
            return [];
        }
        try
        {
            problem = null;
            return Parse(r.Output);
        }
        catch (JsonException e)
        {
            problem = $"kubectl get nodes -o json: unreadable ({e.Message})";
            return [];
        }
    }

    /// <summary>A NodeList as kubectl prints it (pure: unit-tested).</summary>
    public static IReadOnlyList<KubeNodeStatus> Parse(string nodeListJson)
    {
        using JsonDocument doc = JsonDocument.Parse(nodeListJson);
        List<KubeNodeStatus> rows = [];
        if (!doc.RootElement.TryGetProperty("items", out JsonElement items) || items.ValueKind != JsonValueKind.Array)
        {
            return rows;
        }
        foreach (JsonElement node in items.EnumerateArray())
        {
            JsonElement meta = Get(node, "metadata");
            JsonElement annotations = Get(meta, "annotations");
            string cidrs = Get(Get(node, "spec"), "podCIDRs") is { ValueKind: JsonValueKind.Array } list
                ? string.Join(",", list.EnumerateArray().Select(c => c.GetString()))
                : Text(Get(Get(node, "spec"), "podCIDR"));
            rows.Add(new KubeNodeStatus(
                Text(Get(meta, "name")),
                cidrs.Length == 0 ? "-" : cidrs,
                Text(Get(annotations, Prefix + "backend-type")),
                Text(Get(annotations, Prefix + "public-ip")),
                VtepMac(Get(annotations, Prefix + "backend-data")),
                Text(Get(annotations, Prefix + "public-ipv6")),
                VtepMac(Get(annotations, Prefix + "backend-v6-data")),
                NetworkUnavailable(Get(Get(node, "status"), "conditions"))));
        }
        return rows;
    }

    // backend-data is JSON in a string: {"VNI":4096,"VtepMAC":"…"} for vxlan, the string null for host-gw.
    private static string VtepMac(JsonElement backendData)
    {
        if (backendData.ValueKind != JsonValueKind.String)
        {
            return "-";
        }
        string text = backendData.GetString()!;
        try
        {
            using JsonDocument data = JsonDocument.Parse(text);
            return data.RootElement.ValueKind == JsonValueKind.Object && Text(Get(data.RootElement, "VtepMAC")) is var mac && mac != "-"
                ? mac
                : $"({text})";
        }
        catch (JsonException)
        {
            return $"unreadable: {text}";
        }
    }

    private static string NetworkUnavailable(JsonElement conditions)
    {
        if (conditions.ValueKind != JsonValueKind.Array)
        {
            return "-";
        }
        foreach (JsonElement c in conditions.EnumerateArray())
        {
            if (Text(Get(c, "type")) == "NetworkUnavailable")
            {
                return $"{Text(Get(c, "status"))} ({Text(Get(c, "reason"))})";
            }
        }
        return "-";
    }

    private static JsonElement Get(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out JsonElement v) ? v : default;

    private static string Text(JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString()! : "-";
}
