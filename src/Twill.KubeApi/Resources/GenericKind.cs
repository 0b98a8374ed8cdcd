using System.Text.Json.Nodes;

namespace Twill.KubeApi.Resources;

/// <summary>
/// A resource stored and served without a schema of its own (no validation beyond names, generic printing):
/// what the DaemonSet manifest creates besides nodes and pods, so `kubectl apply -f` of it works.
/// Keys are kube-apiserver's (/registry/namespaces/&lt;name&gt;, /registry/daemonsets/&lt;ns&gt;/&lt;name&gt;, ...).
/// </summary>
internal sealed class GenericKind(
    string group, string resource, string singular, string kind, bool namespaced, bool hasStatus,
    string[] shortNames, string[]? topLevelFields = null, Action<JsonObject>? prepareForCreate = null) : ResourceKind(resource, singular, kind, namespaced, shortNames, group, hasStatus: hasStatus)
{
    private static readonly Dictionary<string, string?> s_podTemplateLists = WithMetadataLists(new(StringComparer.Ordinal)
    {
        ["spec.template.spec.containers"] = "name",
        ["spec.template.spec.initContainers"] = "name",
        ["spec.template.spec.volumes"] = "name",
        ["spec.template.spec.containers.env"] = "name",
        ["spec.template.spec.containers.volumeMounts"] = "mountPath",
        ["spec.template.spec.containers.ports"] = "containerPort",
        ["spec.template.spec.initContainers.env"] = "name",
        ["spec.template.spec.initContainers.volumeMounts"] = "mountPath",
        ["status.conditions"] = "type",
    });

    /// <summary>The kinds of deploy/twill.yml (Namespace, ServiceAccount, ConfigMap, RBAC, DaemonSet).</summary>
    public static readonly IReadOnlyList<GenericKind> ManifestKinds =
    [
        new("", "namespaces", "namespace", "Namespace", namespaced: false, hasStatus: true, ["ns"], prepareForCreate: ns =>
        {
            // The namespace registry: the "kubernetes" finalizer and phase Active on create.
            ns["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
            ns["status"] = new JsonObject { ["phase"] = "Active" };
        }),
        new("", "serviceaccounts", "serviceaccount", "ServiceAccount", namespaced: true, hasStatus: false, ["sa"], ["secrets", "imagePullSecrets", "automountServiceAccountToken"]),
        new("", "configmaps", "configmap", "ConfigMap", namespaced: true, hasStatus: false, ["cm"], ["data", "binaryData", "immutable"]),
        new("apps", "daemonsets", "daemonset", "DaemonSet", namespaced: true, hasStatus: true, ["ds"]),
        new("rbac.authorization.k8s.io", "clusterroles", "clusterrole", "ClusterRole", namespaced: false, hasStatus: false, [], ["rules", "aggregationRule"]),
        new("rbac.authorization.k8s.io", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", namespaced: false, hasStatus: false, [], ["roleRef", "subjects"]),
        new("rbac.authorization.k8s.io", "roles", "role", "Role", namespaced: true, hasStatus: false, [], ["rules"]),
        new("rbac.authorization.k8s.io", "rolebindings", "rolebinding", "RoleBinding", namespaced: true, hasStatus: false, [], ["roleRef", "subjects"]),
    ];

    public override IReadOnlyList<string> ExtraTopLevelFields => topLevelFields ?? [];

    public override IReadOnlyList<string> SelectableFields => [];

    public override IReadOnlyDictionary<string, string?> MergeLists => s_podTemplateLists;

    public override void PrepareForCreate(JsonObject obj) => prepareForCreate?.Invoke(obj);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        NameColumn,
        AgeColumn,
    ];

    public override IReadOnlyList<JsonNode?> Row(JsonObject obj, DateTime now) =>
        [Meta.Name(obj), Age.Since(Meta.Str(Meta.Metadata(obj), "creationTimestamp"), now)];
}
