using Twill.Netlink;

namespace Twill.Lab;

/// <summary><c>twill lab down</c>: removes exactly what the journal and the lab's name prefix show.</summary>
public sealed partial class LabController
{
    // ---------------------------------------------------------------- down

    /// <summary>Removes lab <paramref name="name"/>: its processes, pods, namespaces and state directory. Safe to repeat.</summary>
    /// <returns>False when there was nothing to remove.</returns>
    /// <param name="cniDel">Also run CNI DEL for every pod first. Not needed for the lab's own
    /// conflist (everything the plugins make lives in the lab's namespaces and state directory), but
    /// a user's conflist may write elsewhere.</param>
    public bool Down(string name, bool cniDel = false)
    {
        LabPaths paths = Paths(name);
        LabState? state = null;
        try
        {
            state = LabState.Load(paths.StateFile);
        }
        catch (LabConfigException e)
        {
            _report.Warn(e.Message);
        }
        string prefix = TopologyPlanner.LabPrefix(name);
        List<string> namespaces = [.. state?.Namespaces ?? []];
        namespaces.AddRange(NetNs.List().Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !namespaces.Contains(n)));
        bool anything = state is not null || namespaces.Count > 0 || Directory.Exists(paths.Root);
        if (!anything)
        {
            return false;
        }

        if (state is not null)
        {
            Time($"{state.Processes.Count} processes stopped", () =>
            {
                Parallel.ForEach(state.Processes, p =>
                {
                    if (!LabProcesses.Stop(p, TimeSpan.FromSeconds(3)))
                    {
                        _report.Warn($"{p.Role} (PID {p.Pid}) did not stop");
                    }
                });
            });
            if (cniDel)
            {
                DeletePods(state, paths);
            }
        }

        Time($"{namespaces.Count} namespaces removed", () =>
        {
            // Anything still running inside a lab namespace was started there by the lab (a plugin
            // or an agent of a crashed up): stop it, or it would keep the namespace alive.
            foreach (string ns in namespaces)
            {
                string? id = LabNetwork.Identity(ns);
                if (id is not null)
                {
                    foreach (int pid in LabProcesses.InNamespace(id))
                    {
                        _report.Warn($"leftover process {pid} in {ns} killed");
                        LabProcesses.KillNow(pid);
                    }
                }
            }
            foreach (string ns in Enumerable.Reverse(namespaces))
            {
                NetNs.Delete(ns);
            }
        });
        if (state is not null)
        {
            TorRouter.RemoveLeftovers(state.Processes);
        }

        if (Directory.Exists(paths.Root))
        {
            Directory.Delete(paths.Root, recursive: true);
        }
        return true;
    }

    // CNI DEL while the node namespaces still exist, so a plugin that keeps state outside the
    // namespaces (a user's conflist) is cleaned up too.
    private void DeletePods(LabState state, LabPaths paths)
    {
        List<LabPodState> pods = [.. state.Pods.Where(p => NetNs.Exists(p.Namespace))];
        if (pods.Count == 0 || !File.Exists(paths.CniConf))
        {
            return;
        }
        LabOptions options;
        try
        {
            options = new LabOptions
            {
                Name = state.Name,
                Nodes = Math.Max(1, state.Nodes.Count),
                NetConf = File.Exists(paths.NetConf) ? File.ReadAllText(paths.NetConf) : null,
                CniConf = File.ReadAllText(paths.CniConf),
                Underlay = TopologyPlanner.ParseUnderlay(state.Underlay),
                Store = TopologyPlanner.ParseStore(state.Store),
                PodsPerNode = Math.Max(1, pods.GroupBy(p => p.Node).Max(g => g.Count())),
            };
            LabTopology topology = TopologyPlanner.Plan(options);
            string cniPath = CniPath is null && state.CniPath is not null ? state.CniPath : ResolveCniPath();
            if (!topology.CniConf.Types.All(t => File.Exists(Path.Combine(cniPath, t))))
            {
                return;
            }
            CniRuntime cni = new(cniPath, topology, paths);
            Time($"{pods.Count} pods deleted via CNI", () =>
            {
                Parallel.ForEach(pods, new ParallelOptions { MaxDegreeOfParallelism = 4 }, p =>
                {
                    LabPod pod = new(p.Name, p.Namespace, p.Node, p.ContainerPort, p.HostPort);
                    foreach (string error in cni.Delete(pod))
                    {
                        _report.Warn(error);
                    }
                });
            });
        }
        catch (LabConfigException e)
        {
            _report.Warn($"CNI DEL skipped: {e.Message}");
        }
    }
}
