namespace Twill.Lab;

/// <summary>
/// The command line of one node's agent: flanneld's flags, so what runs in the lab is what a
/// DaemonSet would run on a real node, with every path inside the lab's state directory.
/// </summary>
public static class AgentLaunch
{
    /// <summary>Each agent listens on 127.0.0.1 of its own node namespace, so one port serves all.</summary>
    public const int HealthzPort = 9471;

    public const int EtcdClientPort = 2379;

    public static string EtcdEndpoint(LabTopology topology) =>
        topology.ControlPlane is LabHost cp ? $"http://{cp.Address}:{EtcdClientPort}" : "";

    public static IReadOnlyList<string> Arguments(string twill, LabTopology topology, LabNode node, LabPaths paths)
    {
        List<string> args =
        [
            twill, "agent",
            "--iface", node.Underlay.Name,
            "--public-ip", node.Address.ToString(),
            "--ip-masq",
            "--subnet-file", paths.SubnetEnv(node.Name),
            "--net-config-path", paths.NetConf,
            "--state-dir", paths.AgentStateDir(node.Name),
            "--healthz-ip", "127.0.0.1",
            "--healthz-port", HealthzPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        // As kube-flannel.yml's DaemonSet: the node comes from NODE_NAME (Environment).
        args.AddRange(StoreArguments(topology, paths, paths.NodeKubeconfig(node.Name)));
        return args;
    }

    /// <summary>The lease-store flags (the agent's, shared by every twill command reading leases); <paramref name="kubeconfig"/> for the Kubernetes store.</summary>
    public static IReadOnlyList<string> StoreArguments(LabTopology topology, LabPaths paths, string kubeconfig) => topology.Store switch
    {
        LabStore.Etcd => ["--etcd-endpoints", EtcdEndpoint(topology)],
        LabStore.Kube => ["--kube-subnet-mgr", "--kubeconfig-file", kubeconfig],
        _ => ["--store", "file", "--store-dir", paths.StoreDir],
    };

    /// <summary>The agent's environment: NODE_NAME for the Kubernetes store (the DaemonSet's downward API).</summary>
    public static IReadOnlyDictionary<string, string>? Environment(LabTopology topology, LabNode node) =>
        topology.Store == LabStore.Kube ? new Dictionary<string, string> { ["NODE_NAME"] = node.Name } : null;

    /// <summary>etcd for <c>--store etcd</c>, inside the control-plane namespace, data in the state dir.</summary>
    public static IReadOnlyList<string> EtcdArguments(LabTopology topology, LabPaths paths)
    {
        LabHost cp = topology.ControlPlane ?? throw new InvalidOperationException("no control plane in a file-store lab");
        return
        [
            "etcd",
            "--name", "twill-lab",
            "--data-dir", paths.EtcdDataDir,
            "--listen-client-urls", $"http://{cp.Address}:{EtcdClientPort},http://127.0.0.1:{EtcdClientPort}",
            "--advertise-client-urls", $"http://{cp.Address}:{EtcdClientPort}",
            "--listen-peer-urls", "http://127.0.0.1:2380",
            "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "twill-lab=http://127.0.0.1:2380",
            "--log-level", "warn",
        ];
    }
}
