namespace Twill.Leases.Kube;

/// <summary>
/// How to reach the API server and which node this is: Flannel's <c>--kube-subnet-mgr</c> flags and
/// environment. With neither <see cref="KubeconfigFile"/> nor <see cref="ApiUrl"/> the in-cluster
/// configuration (service account token and CA) is used, as Flannel's DaemonSet runs.
/// </summary>
public sealed record KubeStoreOptions
{
    /// <summary><c>--kubeconfig-file</c>.</summary>
    public string? KubeconfigFile { get; init; }

    /// <summary><c>--kube-api-url</c>: overrides the server of the kubeconfig (or of the in-cluster configuration).</summary>
    public string? ApiUrl { get; init; }

    /// <summary><c>--kube-annotation-prefix</c>.</summary>
    public string AnnotationPrefix { get; init; } = KubeAnnotations.DefaultPrefix;

    /// <summary><c>--set-node-network-unavailable</c>: set NodeNetworkUnavailable=False once ready (Flannel's default true).</summary>
    public bool SetNodeNetworkUnavailable { get; init; } = true;

    /// <summary><c>NODE_NAME</c>; when empty the node is the one <see cref="PodName"/> runs on.</summary>
    public string? NodeName { get; init; }

    /// <summary><c>POD_NAME</c> (with <see cref="PodNamespace"/>): the pod whose spec.nodeName is this node.</summary>
    public string? PodName { get; init; }

    /// <summary><c>POD_NAMESPACE</c>.</summary>
    public string? PodNamespace { get; init; }

    /// <summary>Nodes per list page (<c>limit</c>); pages keep a 5,000-node listing from being held whole.</summary>
    public int ListPageSize { get; init; } = 250;

    /// <summary>First wait after a failed watch or list; doubled up to <see cref="MaxRetryInterval"/>.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often to look again for a podCIDR that is not assigned yet.</summary>
    public TimeSpan PodCidrRetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Asked of the server per watch (client-go's 5-10 min); the watch then resumes from its last resourceVersion.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Timeout of each request other than a watch.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The options with the node taken from NODE_NAME, POD_NAME and POD_NAMESPACE.</summary>
    public KubeStoreOptions WithEnvironment(Func<string, string?>? getenv = null)
    {
        getenv ??= Environment.GetEnvironmentVariable;
        return this with
        {
            NodeName = NodeName ?? Nonempty(getenv("NODE_NAME")),
            PodName = PodName ?? Nonempty(getenv("POD_NAME")),
            PodNamespace = PodNamespace ?? Nonempty(getenv("POD_NAMESPACE")),
        };
    }

    private static string? Nonempty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
