using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Twill.KubeApi.Resources;

/// <summary>core/v1 Node: cluster-scoped, stored under /registry/minions, with the node registry's strategy.</summary>
internal sealed class Nodes : ResourceKind
{
    public static readonly Nodes Instance = new();

    private Nodes()
        : base("nodes", "node", "Node", namespaced: false, shortNames: ["no"], etcdResource: "minions")
    {
    }

    // pkg/registry/core/node: NodeToSelectableFields.
    public override IReadOnlyList<string> SelectableFields { get; } = ["spec.unschedulable"];

    // The patchStrategy/patchMergeKey tags of core/v1 NodeSpec and NodeStatus.
    public override IReadOnlyDictionary<string, string?> MergeLists { get; } = WithMetadataLists(new(StringComparer.Ordinal)
    {
        ["spec.podCIDRs"] = null,
        ["spec.taints"] = "key",
        ["status.conditions"] = "type",
        ["status.addresses"] = "type",
        ["status.volumesAttached"] = "name",
    });

    /// <summary>The v1 conversion keeps podCIDR and podCIDRs in step: podCIDRs wins, and podCIDR alone primes it.</summary>
    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec)
        {
            return;
        }
        if (spec["podCIDRs"] is JsonArray { Count: > 0 } cidrs && cidrs[0] is JsonValue first && first.TryGetValue(out string? cidr))
        {
            spec["podCIDR"] = cidr;
        }
        else if (Meta.Str(spec, "podCIDR") is { Length: > 0 } single)
        {
            spec["podCIDRs"] = new JsonArray(single);
        }
    }

    public override void Validate(JsonObject obj, List<FieldError> errors)
    {
        if (obj["spec"] is not JsonObject spec)
        {
            return;
        }
        if (spec["podCIDRs"] is JsonArray cidrs)
        {
            List<AddressFamily> families = [];
            for (int i = 0; i < cidrs.Count; i++)
            {
                string? value = cidrs[i] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
                if (value is null || !IPNetwork.TryParse(value, out IPNetwork network))
                {
                    errors.Add(FieldError.InvalidValue($"spec.podCIDRs[{i}]", value ?? cidrs[i]?.ToJsonString(), "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
                    continue;
                }
                families.Add(network.BaseAddress.AddressFamily);
            }
            if (cidrs.Count > 2)
            {
                errors.Add(new FieldError("spec.podCIDRs", "FieldValueTooMany", "must have at most 2 items"));
            }
            else if (families.Count == 2 && families[0] == families[1])
            {
                errors.Add(FieldError.InvalidValue("spec.podCIDRs", string.Join(",", cidrs.Select(c => c?.ToString())), "may specify no more than one CIDR for each IP family"));
            }
        }
    }

    // pkg/apis/core/validation: ValidateNodeUpdate.
    public override void ValidateUpdate(JsonObject updated, JsonObject old, List<FieldError> errors)
    {
        Validate(updated, errors);
        string[] oldCidrs = Cidrs(old);
        if (oldCidrs.Length > 0 && !oldCidrs.SequenceEqual(Cidrs(updated), StringComparer.Ordinal))
        {
            errors.Add(FieldError.Forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to valid"));
        }
        string oldProvider = Meta.FieldValue(old, "spec.providerID");
        if (oldProvider.Length > 0 && oldProvider != Meta.FieldValue(updated, "spec.providerID"))
        {
            errors.Add(FieldError.Forbidden("spec.providerID", "node updates may not change providerID except from \"\" to valid"));
        }
    }

    private static string[] Cidrs(JsonObject node) =>
        node["spec"] is JsonObject spec && spec["podCIDRs"] is JsonArray a ? [.. a.Select(c => c?.ToString() ?? "")] : [];

    // pkg/printers/internalversion: nodeColumnDefinitions.
    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        NameColumn,
        new("Status", "string", "", "The status of the node", 0),
        new("Roles", "string", "", "The roles of the node", 0),
        AgeColumn,
        new("Version", "string", "", "Kubelet Version reported by the node.", 0),
        new("Internal-IP", "string", "", "List of addresses reachable to the node.", 1),
        new("External-IP", "string", "", "List of addresses reachable to the node.", 1),
        new("OS-Image", "string", "", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
        new("Kernel-Version", "string", "", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
        new("Container-Runtime", "string", "", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
    ];

    public override IReadOnlyList<JsonNode?> Row(JsonObject obj, DateTime now)
    {
        JsonObject status = obj["status"] as JsonObject ?? [];
        JsonObject info = status["nodeInfo"] as JsonObject ?? [];
        string ready = "Unknown";
        if (status["conditions"] is JsonArray conditions)
        {
            foreach (JsonObject c in conditions.OfType<JsonObject>())
            {
                if (Meta.Str(c, "type") == "Ready")
                {
                    ready = Meta.Str(c, "status") == "True" ? "Ready" : "NotReady";
                }
            }
        }
        if (Meta.FieldValue(obj, "spec.unschedulable") == "true")
        {
            ready += ",SchedulingDisabled";
        }
        SortedSet<string> roles = new(StringComparer.Ordinal);
        foreach ((string key, string value) in Meta.Labels(obj))
        {
            if (key.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal) && key.Length > "node-role.kubernetes.io/".Length)
            {
                roles.Add(key["node-role.kubernetes.io/".Length..]);
            }
            else if (key == "kubernetes.io/role" && value.Length > 0)
            {
                roles.Add(value);
            }
        }
        return
        [
            Meta.Name(obj),
            ready,
            roles.Count == 0 ? "<none>" : string.Join(",", roles),
            Age.Since(Meta.Str(Meta.Metadata(obj), "creationTimestamp"), now),
            Meta.Str(info, "kubeletVersion") ?? "",
            Address(status, "InternalIP"),
            Address(status, "ExternalIP"),
            Meta.Str(info, "osImage") is { Length: > 0 } os ? os : "<unknown>",
            Meta.Str(info, "kernelVersion") is { Length: > 0 } kernel ? kernel : "<unknown>",
            Meta.Str(info, "containerRuntimeVersion") is { Length: > 0 } runtime ? runtime : "<unknown>",
        ];
    }

    private static string Address(JsonObject status, string type)
    {
        if (status["addresses"] is JsonArray addresses)
        {
            foreach (JsonObject a in addresses.OfType<JsonObject>())
            {
                if (Meta.Str(a, "type") == type && Meta.Str(a, "address") is { Length: > 0 } address)
                {
                    return address;
                }
            }
        }
        return "<none>";
    }
}
