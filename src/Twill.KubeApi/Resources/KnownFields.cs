using System.Text.Json.Nodes;

namespace Twill.KubeApi.Resources;

/// <summary>
/// The fields of the objects this stand-in knows, for the fieldValidation query parameter: unknown fields
/// are an error with Strict, a warning with Warn (the default), nothing with Ignore. Checked: the top
/// level, ObjectMeta and, for nodes, NodeSpec and NodeStatus; deeper levels are not (no full schemas here).
/// </summary>
internal static class KnownFields
{
    private static readonly HashSet<string> s_top = ["apiVersion", "kind", "metadata", "spec", "status"];

    private static readonly HashSet<string> s_meta =
    [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
    ];

    private static readonly HashSet<string> s_nodeSpec = ["podCIDR", "podCIDRs", "providerID", "unschedulable", "taints", "configSource", "externalID"];

    private static readonly HashSet<string> s_nodeStatus =
    [
        "capacity", "allocatable", "phase", "conditions", "addresses", "daemonEndpoints", "nodeInfo", "images",
        "volumesInUse", "volumesAttached", "config", "runtimeHandlers", "features",
    ];

    public static List<string> Unknown(ResourceKind kind, JsonObject obj)
    {
        List<string> unknown = [];
        Check(obj, [.. s_top, .. kind.ExtraTopLevelFields], "", unknown);
        if (obj["metadata"] is JsonObject meta)
        {
            Check(meta, s_meta, "metadata.", unknown);
        }
        if (kind is Nodes)
        {
            if (obj["spec"] is JsonObject spec)
            {
                Check(spec, s_nodeSpec, "spec.", unknown);
            }
            if (obj["status"] is JsonObject status)
            {
                Check(status, s_nodeStatus, "status.", unknown);
            }
        }
        return unknown;
    }

    private static void Check(JsonObject obj, HashSet<string> known, string prefix, List<string> unknown)
    {
        foreach ((string key, _) in obj)
        {
            if (!known.Contains(key))
            {
                unknown.Add(prefix + key);
            }
        }
    }
}
