using System.Globalization;
using Twill.Leases.Etcd;
using Twill.Leases.Kube;
using Twill.Leases.Store;

namespace Twill.Agent.Store;

/// <summary>
/// One kind of lease store, described in one place: its <c>--store</c> name, its flags, the flag whose
/// presence selects it without <c>--store</c> (Flannel's rule: <c>--etcd-endpoints</c> means etcd),
/// and how its store is made. A new store (Kubernetes: <c>--kube-subnet-mgr</c> selecting it,
/// <c>--kubeconfig-file</c>, ...) is one more implementation listed in <see cref="LeaseStoreKinds.All"/>
/// plus its settings on <see cref="LeaseStoreOptions"/>.
/// </summary>
public interface ILeaseStoreKind
{
    StoreKind Kind { get; }

    /// <summary>The value of <c>--store</c> that names this kind.</summary>
    string Name { get; }

    /// <summary>The flags only this kind reads.</summary>
    IReadOnlyList<FlagSpec<LeaseStoreOptions>> Flags { get; }

    /// <summary>The flag whose presence (from the command line or the environment) selects this kind; null when only <c>--store</c> does.</summary>
    string? SelectedBy { get; }

    /// <summary>
    /// The store the options describe. Throws <see cref="FormatException"/> listing every bad setting.
    /// <paramref name="watchProblem"/> hears of watch breaks; <paramref name="warning"/> of records the store skips (Kubernetes: a hostile node).
    /// </summary>
    ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem, Action<string> warning);
}

/// <summary>The store kinds Twill knows, in the order <c>--store</c> lists them.</summary>
public static class LeaseStoreKinds
{
    public static IReadOnlyList<ILeaseStoreKind> All { get; } = [new FileStoreKind(), new EtcdStoreKind(), new KubeStoreKind()];

    public static ILeaseStoreKind For(StoreKind kind) => All.First(k => k.Kind == kind);

    /// <summary>The store <paramref name="options"/> name; an etcd store's watch breaks go to <paramref name="watchProblem"/>.</summary>
    public static ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem, Action<string>? warning = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(watchProblem);
        return For(options.Kind).Create(options, use, watchProblem, warning ?? watchProblem);
    }
}

/// <summary>The embedded file store: a directory shared by the nodes of one machine (or an NFS mount).</summary>
internal sealed class FileStoreKind : ILeaseStoreKind
{
    public StoreKind Kind => StoreKind.File;

    public string Name => "file";

    public string? SelectedBy => null;

    public IReadOnlyList<FlagSpec<LeaseStoreOptions>> Flags { get; } =
    [
        new("store-dir", false, false, $"file store directory, shared by the nodes (default {LeaseStoreOptions.DefaultDirectory})", (o, v) => o with { Directory = v }),
    ];

    public ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem, Action<string> warning)
    {
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            throw new FormatException("--store-dir: empty directory name");
        }
        if (use == LeaseStoreUse.Inspect && !System.IO.Directory.Exists(options.Directory))
        {
            // A listing must not leave an empty store behind.
            throw new FormatException($"--store-dir {options.Directory}: no such directory (no file store there)");
        }
        return new FileLeaseStore(options.Directory);
    }
}

/// <summary>etcd v3 with Flannel's flags and key layout.</summary>
internal sealed class EtcdStoreKind : ILeaseStoreKind
{
    public StoreKind Kind => StoreKind.Etcd;

    public string Name => "etcd";

    public string? SelectedBy => "etcd-endpoints";

    public IReadOnlyList<FlagSpec<LeaseStoreOptions>> Flags { get; } =
    [
        new("etcd-endpoints", false, false, $"comma-separated etcd endpoints (implies --store etcd; default {EtcdLeaseStoreOptions.DefaultEndpoint})",
            (o, v) => o with { Etcd = o.Etcd with { Endpoints = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) } }),
        new("etcd-prefix", false, false, $"etcd prefix (default {EtcdLeaseStoreOptions.DefaultPrefix})", (o, v) => o with { Etcd = o.Etcd with { Prefix = v } }),
        new("etcd-cafile", false, false, "etcd CA certificate", (o, v) => o with { Etcd = o.Etcd with { CaFile = v } }),
        new("etcd-certfile", false, false, "etcd client certificate", (o, v) => o with { Etcd = o.Etcd with { CertFile = v } }),
        new("etcd-keyfile", false, false, "etcd client key", (o, v) => o with { Etcd = o.Etcd with { KeyFile = v } }),
        new("etcd-username", false, false, "etcd user", (o, v) => o with { Etcd = o.Etcd with { Username = v } }),
        new("etcd-password", false, false, "etcd password", (o, v) => o with { Etcd = o.Etcd with { Password = v } }),
    ];

    public ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem, Action<string> warning)
    {
        IReadOnlyList<string> errors = options.Etcd.Validate();
        return errors.Count > 0
            ? throw new FormatException(string.Join("; ", errors))
            : new EtcdLeaseStore(options.Etcd) { WatchProblem = watchProblem };
    }
}

/// <summary>The Kubernetes API with Flannel's <c>--kube-subnet-mgr</c> flags (see docs/kubernetes.md).</summary>
internal sealed class KubeStoreKind : ILeaseStoreKind
{
    public StoreKind Kind => StoreKind.Kube;

    public string Name => "kube";

    public string? SelectedBy => "kube-subnet-mgr";

    public IReadOnlyList<FlagSpec<LeaseStoreOptions>> Flags { get; } =
    [
        new("kube-subnet-mgr", true, false, "use the Kubernetes API (node podCIDRs and annotations) as the lease store (implies --store kube)",
            (o, v) => ParseBool("kube-subnet-mgr", v) ? o : throw new FormatException("--kube-subnet-mgr=false: leave the flag out (or name another --store)")),
        new("kubeconfig-file", false, false, "kubeconfig for the API server (default: the in-cluster service account)", (o, v) => o with { Kube = o.Kube with { KubeconfigFile = v } }),
        new("kube-api-url", false, false, "the API server's URL (overrides the kubeconfig's)", (o, v) => o with { Kube = o.Kube with { ApiUrl = v } }),
        new("kube-annotation-prefix", false, false, $"prefix of the node annotations (default {KubeAnnotations.DefaultPrefix})", (o, v) => o with { Kube = o.Kube with { AnnotationPrefix = v } }),
        new("set-node-network-unavailable", true, false, "set the node's NetworkUnavailable=False once the data path is up (default true)",
            (o, v) => o with { Kube = o.Kube with { SetNodeNetworkUnavailable = ParseBool("set-node-network-unavailable", v) } }),
    ];

    public ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem, Action<string> warning)
    {
        try
        {
            return new KubeLeaseStore(options.Kube.WithEnvironment(), warning) { WatchProblem = watchProblem };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new FormatException(e.Message, e);
        }
    }

    private static bool ParseBool(string flag, string v) =>
        bool.TryParse(v, out bool b) ? b
        : v == "1" ? true : v == "0" ? false
        : throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"--{flag}: '{v}' is not true or false"));
}
