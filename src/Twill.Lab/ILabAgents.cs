namespace Twill.Lab;

/// <summary>
/// Runs the nodes' agents in place of the lab (<see cref="LabController.Agents"/>): the way a
/// kubelet runs the DaemonSet's pod, for one (tests/Twill.Deploy.Tests). The lab still builds the
/// network and the store, waits for each node's subnet file, and adds the pods with the CNI plugins
/// and the conflist that node has, so what the agent installed on the node is what the pods get.
/// </summary>
public interface ILabAgents
{
    /// <summary>Starts every node's agent; the store is up (<c>--store kube</c>: the API server and the Nodes).</summary>
    void Start(LabTopology topology, LabPaths paths);

    /// <summary>What the node's pods are added with; asked after <see cref="Start"/>.</summary>
    LabNodeCni Cni(LabNode node);

    /// <summary>Whether the node's agent still runs (the lab stops waiting for its subnet file when not).</summary>
    bool IsRunning(LabNode node);

    /// <summary>The end of the node's agent log, for the lab's error messages.</summary>
    string LogTail(LabNode node);
}

/// <summary>A node's side of CNI: the agent's subnet.env, the plugin directory (CNI_PATH) and the conflist a runtime on that node uses.</summary>
public sealed record LabNodeCni(string SubnetFile, string CniPath, CniConfList CniConf);
