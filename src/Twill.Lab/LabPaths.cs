namespace Twill.Lab;

/// <summary>
/// The files of one lab, all under its state directory (/run/twill/lab/NAME): nothing of a lab is
/// written anywhere else on the host, so <c>down</c> removes it by removing that directory.
/// </summary>
public sealed class LabPaths
{
    public const string DefaultRoot = "/run/twill/lab";

    public LabPaths(string name, string? root = null)
    {
        Root = Path.Combine(root ?? DefaultRoot, name);
    }

    public string Root { get; }

    public string StateFile => Path.Combine(Root, "state.json");

    public string NetConf => Path.Combine(Root, "net-conf.json");

    public string CniConf => Path.Combine(Root, "cni-conf.json");

    /// <summary>The agents' embedded file store, shared by every node of the lab.</summary>
    public string StoreDir => Path.Combine(Root, "store");

    public string EtcdDataDir => Path.Combine(Root, "etcd");

    public string EtcdLog => Path.Combine(Root, "etcd.log");

    /// <summary>The admin kubeconfig of a <c>--store kube</c> lab (docs/lab.md).</summary>
    public string Kubeconfig => Path.Combine(Root, "kubeconfig");

    /// <summary>The stand-in's CA and serving certificate (twill-kube-apiserver gen-certs).</summary>
    public string KubePki => Path.Combine(Root, "kube", "pki");

    public string KubeTokens => Path.Combine(Root, "kube", "tokens.csv");

    public string KubeApiServerLog => Path.Combine(Root, "kube-apiserver.log");

    /// <summary>The kubeconfig a node's agent uses (its own token).</summary>
    public string NodeKubeconfig(string node) => Path.Combine(NodeDir(node), "kubeconfig");

    public string ResponderLog => Path.Combine(Root, "responder.log");

    public string NodeDir(string node) => Path.Combine(Root, node);

    /// <summary>The node's own subnet.env (never /run/flannel/subnet.env on the real host).</summary>
    public string SubnetEnv(string node) => Path.Combine(NodeDir(node), "subnet.env");

    /// <summary>The agent's own state (its VtepMAC), per node, never /var/lib/twill on the host.</summary>
    public string AgentStateDir(string node) => Path.Combine(NodeDir(node), "agent");

    public string AgentLog(string node) => Path.Combine(NodeDir(node), "agent.log");

    /// <summary>The flannel plugin's per-container delegate configs (its "dataDir").</summary>
    public string FlannelDataDir(string node) => Path.Combine(NodeDir(node), "flannel");

    /// <summary>host-local's reservations for this node (its ipam "dataDir").</summary>
    public string IpamDataDir(string node) => Path.Combine(NodeDir(node), "ipam");

    /// <summary>The final CNI result of a pod's ADD, kept for its DEL (libcni's cache).</summary>
    public string PodResult(string pod) => Path.Combine(Root, "pods", pod + ".json");

    public string PodLog(string pod) => Path.Combine(Root, "pods", pod + ".log");
}
