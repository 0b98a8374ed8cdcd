using Twill.Leases.Etcd;
using Twill.Leases.Kube;

namespace Twill.Agent.Store;

/// <summary>Where leases live. Each kind is described once, by its <see cref="ILeaseStoreKind"/> in <see cref="LeaseStoreKinds"/>.</summary>
public enum StoreKind
{
    /// <summary>The embedded file store (<c>--store file --store-dir DIR</c>), one directory shared by the nodes.</summary>
    File,

    /// <summary>etcd v3, Flannel's key layout.</summary>
    Etcd,

    /// <summary>The Kubernetes API, Flannel's <c>--kube-subnet-mgr</c>: podCIDRs and node annotations.</summary>
    Kube,
}

/// <summary>
/// Which lease store and how to reach it: what <c>twill agent</c>, <c>twill leases list</c> and every
/// other command that opens the store are given (through <see cref="LeaseStoreFlags"/>). The defaults
/// here are the only ones: the file store in <see cref="DefaultDirectory"/>, etcd at
/// <see cref="EtcdLeaseStoreOptions.DefaultEndpoint"/> under <see cref="EtcdLeaseStoreOptions.DefaultPrefix"/>.
/// </summary>
public sealed record LeaseStoreOptions
{
    /// <summary>The file store's directory unless told otherwise.</summary>
    public const string DefaultDirectory = "/var/lib/twill/leases";

    public StoreKind Kind { get; init; } = StoreKind.File;

    /// <summary>The file store's directory (<c>--store-dir</c>).</summary>
    public string Directory { get; init; } = DefaultDirectory;

    /// <summary>The etcd store's settings (<c>--etcd-*</c>).</summary>
    public EtcdLeaseStoreOptions Etcd { get; init; } = new();

    /// <summary>The Kubernetes store's settings (<c>--kube-*</c>, <c>--kubeconfig-file</c>); the node comes from NODE_NAME or POD_NAME/POD_NAMESPACE.</summary>
    public KubeStoreOptions Kube { get; init; } = new();
}

/// <summary>What a command does with the store: run on it (a missing file store is created) or only inspect it (it must exist).</summary>
public enum LeaseStoreUse
{
    Run,
    Inspect,
}
