using System.Text.Json.Nodes;

namespace Twill.KubeApi.Resources;

/// <summary>core/v1 Pod, minimally: stored under /registry/pods/&lt;namespace&gt;/&lt;name&gt;, created Pending, no scheduling.</summary>
internal sealed class Pods : ResourceKind
{
    public static readonly Pods Instance = new();

    private Pods()
        : base("pods", "pod", "Pod", namespaced: true, shortNames: ["po"])
    {
    }

    public override IReadOnlyList<string> SelectableFields { get; } = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP", "status.nominatedNodeName"];

    // The patchStrategy/patchMergeKey tags of core/v1 PodSpec and PodStatus.
    public override IReadOnlyDictionary<string, string?> MergeLists { get; } = WithMetadataLists(new(StringComparer.Ordinal)
    {
        ["spec.containers"] = "name",
        ["spec.initContainers"] = "name",
        ["spec.volumes"] = "name",
        ["spec.imagePullSecrets"] = "name",
        ["status.conditions"] = "type",
        ["status.podIPs"] = "ip",
    });

    // pkg/registry/core/pod: PrepareForCreate sets the phase to Pending and drops any status sent.
    public override void PrepareForCreate(JsonObject obj) => obj["status"] = new JsonObject { ["phase"] = "Pending" };

    public override void Validate(JsonObject obj, List<FieldError> errors)
    {
        if (obj["spec"] is not JsonObject spec || spec["containers"] is not JsonArray { Count: > 0 } containers)
        {
            errors.Add(FieldError.Required("spec.containers", ""));
            return;
        }
        for (int i = 0; i < containers.Count; i++)
        {
            if (containers[i] is not JsonObject c || Meta.Str(c, "name") is not { Length: > 0 })
            {
                errors.Add(FieldError.Required($"spec.containers[{i}].name", ""));
            }
            else if (Meta.Str(c, "image") is not { Length: > 0 })
            {
                errors.Add(FieldError.Required($"spec.containers[{i}].image", ""));
            }
        }
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        NameColumn,
        new("Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0),
        new("Status", "string", "", "The aggregate status of the containers in this pod.", 0),
        new("Restarts", "string", "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0),
        AgeColumn,
        new("IP", "string", "", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
        new("Node", "string", "", "NodeName is a request to schedule this pod onto a specific node.", 1),
    ];

    public override IReadOnlyList<JsonNode?> Row(JsonObject obj, DateTime now)
    {
        int containers = obj["spec"] is JsonObject spec && spec["containers"] is JsonArray c ? c.Count : 0;
        int ready = 0;
        if (obj["status"] is JsonObject st && st["containerStatuses"] is JsonArray statuses)
        {
            ready = statuses.OfType<JsonObject>().Count(s => Meta.FieldValue(s, "ready") == "true");
        }
        string phase = Meta.FieldValue(obj, "status.phase");
        string ip = Meta.FieldValue(obj, "status.podIP");
        string node = Meta.FieldValue(obj, "spec.nodeName");
        return
        [
            Meta.Name(obj),
            $"{ready}/{containers}",
            phase.Length > 0 ? phase : "Unknown",
            "0",
            Age.Since(Meta.Str(Meta.Metadata(obj), "creationTimestamp"), now),
            ip.Length > 0 ? ip : "<none>",
            node.Length > 0 ? node : "<none>",
        ];
    }
}
