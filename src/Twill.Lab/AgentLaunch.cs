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
        if (topology.Store == LabStore.Etcd)
        {
            args.AddRange(["--etcd-endpoints", EtcdEndpoint(topology)]);
        }
        else if (topology.Store == LabStore.Kube)
        {
            // As kube-flannel.yml's DaemonSet: the node comes from NODE_NAME (Environment).
            args.AddRange(["--kube-subnet-mgr", "--kubeconfig-file", paths.NodeKubeconfig(node.Name)]);
        }
        else
        {
            args.AddRange(["--store", "file", "--store-dir", paths.StoreDir]);
        }
        return args;
    }

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
