using System.Text.Json.Nodes;

namespace Twill.KubeApi.Resources;

/// <summary>
/// One resource of the core v1 group as the registry knows it: its names (for URLs, discovery and
/// Status messages), where it lives in etcd, and the strategy kube-apiserver's registry applies to it.
/// </summary>
internal abstract class ResourceKind(string resource, string singularName, string kind, bool namespaced, IReadOnlyList<string> shortNames,
    string group = "", string? etcdResource = null, bool hasStatus = true)
{
    /// <summary>The API group: "" for the core group (served under /api), else under /apis/&lt;group&gt;.</summary>
    public string Group { get; } = group;

    public virtual string Version => "v1";

    /// <summary>apiVersion of the objects: "v1" or "&lt;group&gt;/&lt;version&gt;".</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>Whether the resource has a status subresource (and its main resource ignores status).</summary>
    public bool HasStatus { get; } = hasStatus;

    /// <summary>The plural resource name in URLs and Status details ("nodes").</summary>
    public string Resource { get; } = resource;

    public string SingularName { get; } = singularName;

    public string Kind { get; } = kind;

    public string ListKind => Kind + "List";

    public bool Namespaced { get; } = namespaced;

    /// <summary>The directory under the etcd prefix: kube-apiserver keeps nodes under "minions", a name from before Kubernetes 1.0.</summary>
    public string EtcdResource { get; } = etcdResource ?? resource;

    public IReadOnlyList<string> ShortNames { get; } = shortNames;

    /// <summary>Top-level fields besides apiVersion, kind, metadata, spec and status (a ConfigMap's data, a Role's rules).</summary>
    public virtual IReadOnlyList<string> ExtraTopLevelFields => [];

    /// <summary>Fields a field selector may name besides metadata.name (and metadata.namespace when namespaced).</summary>
    public abstract IReadOnlyList<string> SelectableFields { get; }

    /// <summary>Fields a strategic merge patch merges as lists keyed by a field (patchMergeKey) or as sets of primitives (key null).</summary>
    public abstract IReadOnlyDictionary<string, string?> MergeLists { get; }

    /// <summary><paramref name="lists"/> and ObjectMeta's merge lists, which every kind has (their patchStrategy/patchMergeKey tags).</summary>
    protected static Dictionary<string, string?> WithMetadataLists(Dictionary<string, string?> lists)
    {
        lists["metadata.finalizers"] = null;
        lists["metadata.ownerReferences"] = "uid";
        return lists;
    }

    /// <summary>PrepareForCreate: reset what a client may not set.</summary>
    public virtual void PrepareForCreate(JsonObject obj)
    {
    }

    /// <summary>PrepareForUpdate of the main resource: the status is kept from the stored object.</summary>
    public virtual void PrepareForUpdate(JsonObject updated, JsonObject old)
    {
        if (!HasStatus)
        {
            return;
        }
        if (old["status"] is JsonNode status)
        {
            updated["status"] = status.DeepClone();
        }
        else
        {
            updated.Remove("status");
        }
    }

    /// <summary>PrepareForUpdate of the status subresource: the spec is kept from the stored object; metadata may change.</summary>
    public virtual void PrepareForStatusUpdate(JsonObject updated, JsonObject old)
    {
        if (old["spec"] is JsonNode spec)
        {
            updated["spec"] = spec.DeepClone();
        }
        else
        {
            updated.Remove("spec");
        }
    }

    /// <summary>Normalization the v1 conversion/defaulting applies before storage.</summary>
    public virtual void Default(JsonObject obj)
    {
    }

    public virtual void Validate(JsonObject obj, List<FieldError> errors)
    {
    }

    public virtual void ValidateUpdate(JsonObject updated, JsonObject old, List<FieldError> errors)
    {
        Validate(updated, errors);
    }

    /// <summary>The columns `kubectl get` prints (server-side printing, as kube-apiserver's printers).</summary>
    public abstract IReadOnlyList<TableColumn> Columns { get; }

    /// <summary>The first column of every kind's table, worded as kube-apiserver's printers word it.</summary>
    protected static readonly TableColumn NameColumn = new("Name", "string", "name", "Name must be unique within a namespace.", 0);

    /// <summary>The age column every kind's table has.</summary>
    protected static readonly TableColumn AgeColumn = new("Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0);

    public abstract IReadOnlyList<JsonNode?> Row(JsonObject obj, DateTime now);

    public string Key(string prefix, string ns, string name) =>
        Namespaced ? $"{prefix}/{EtcdResource}/{ns}/{name}" : $"{prefix}/{EtcdResource}/{name}";

    /// <summary>The directory listed: every namespace when <paramref name="ns"/> is empty.</summary>
    public string Directory(string prefix, string ns) =>
        Namespaced && ns.Length > 0 ? $"{prefix}/{EtcdResource}/{ns}/" : $"{prefix}/{EtcdResource}/";
}

/// <summary>A column of a meta.k8s.io Table: priority 0 in every output, 1 only with <c>-o wide</c>.</summary>
internal sealed record TableColumn(string Name, string Type, string Format, string Description, int Priority);
