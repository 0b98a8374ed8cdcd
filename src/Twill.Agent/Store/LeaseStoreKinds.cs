using Twill.Leases.Etcd;
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

    /// <summary>The store the options describe. Throws <see cref="FormatException"/> listing every bad setting.</summary>
    ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem);
}

/// <summary>The store kinds Twill knows, in the order <c>--store</c> lists them.</summary>
public static class LeaseStoreKinds
{
    public static IReadOnlyList<ILeaseStoreKind> All { get; } = [new FileStoreKind(), new EtcdStoreKind()];

    public static ILeaseStoreKind For(StoreKind kind) => All.First(k => k.Kind == kind);

    /// <summary>The store <paramref name="options"/> name; an etcd store's watch breaks go to <paramref name="watchProblem"/>.</summary>
    public static ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(watchProblem);
        return For(options.Kind).Create(options, use, watchProblem);
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

    public ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem)
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

    public ILeaseStore Create(LeaseStoreOptions options, LeaseStoreUse use, Action<string> watchProblem)
    {
        IReadOnlyList<string> errors = options.Etcd.Validate();
        return errors.Count > 0
            ? throw new FormatException(string.Join("; ", errors))
            : new EtcdLeaseStore(options.Etcd) { WatchProblem = watchProblem };
    }
}
