namespace Twill.Lab;

/// <summary>The <c>agents</c> step of <c>up</c>: the lab's own <c>twill agent</c> per node, or the caller's <see cref="ILabAgents"/>.</summary>
public sealed partial class LabController
{
    /// <summary>Null: the lab starts <c>twill agent</c> on each node itself, every path in its state directory.</summary>
    public ILabAgents? Agents { get; init; }

    private void StartAgents(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        if (Agents is not null)
        {
            Agents.Start(topology, paths);
        }
        else
        {
            foreach (LabNode node in topology.Nodes)
            {
                Start(journal, "agent " + node.Name, node.Namespace,
                    AgentLaunch.Arguments(TwillPath, topology, node, paths), paths.AgentLog(node.Name), AgentLaunch.Environment(topology, node));
            }
        }
        WaitForSubnets(topology, paths, journal);
    }

    /// <summary>The node's subnet file, plugins and conflist: the lab's own unless <see cref="Agents"/> says otherwise.</summary>
    private LabNodeCni NodeCni(LabTopology topology, LabPaths paths, LabNode node) =>
        Agents?.Cni(node) ?? new LabNodeCni(paths.SubnetEnv(node.Name), ResolveCniPath(), topology.CniConf);

    private bool AgentRunning(LabState state, LabNode node) =>
        Agents?.IsRunning(node) ?? LabProcesses.IsAlive(state.Processes.First(p => p.Role == "agent " + node.Name));

    private string AgentLogTail(LabPaths paths, LabNode node) => Agents?.LogTail(node) ?? Tail(paths.AgentLog(node.Name));
}
