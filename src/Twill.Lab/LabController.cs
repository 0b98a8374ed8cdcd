using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>
/// <c>twill lab up</c> and <c>down</c>: builds the topology into namespaces, starts the store,
/// the agents and the pods, recording each thing in the state file before making it; and removes
/// exactly what the state file and the lab's name prefix show.
/// </summary>
public sealed class LabController
{
    private readonly ILabReporter _report;

    public LabController(ILabReporter report, string? stateRoot = null)
    {
        _report = report;
        StateRoot = stateRoot;
    }

    /// <summary>Null: /run/twill/lab.</summary>
    public string? StateRoot { get; }

    /// <summary>The twill binary agents run as (default: this process's own executable).</summary>
    public string TwillPath { get; init; } = Environment.ProcessPath ?? "twill";

    /// <summary>Where the CNI plugins are (default: out/cni beside out/bin/twill).</summary>
    public string? CniPath { get; init; }

    public TimeSpan SubnetTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public LabPaths Paths(string name) => new(name, StateRoot);

    public string ResolveCniPath()
    {
        if (CniPath is not null)
        {
            return Path.GetFullPath(CniPath);
        }
        string binDir = Path.GetDirectoryName(Path.GetFullPath(TwillPath)) ?? ".";
        return Path.GetFullPath(Path.Combine(binDir, "..", "cni"));
    }

    // ---------------------------------------------------------------- up

    public LabTopology Up(LabOptions options)
    {
        LabTopology topology = TopologyPlanner.Plan(options);
        Preflight(topology);
        LabPaths paths = Paths(topology.Name);
        Directory.CreateDirectory(paths.Root);
        LabState state = new()
        {
            Name = topology.Name,
            Backend = TopologyPlanner.Format(topology.Backend),
            Underlay = TopologyPlanner.Format(topology.Underlay),
            Store = TopologyPlanner.Format(topology.Store),
            Created = DateTimeOffset.UtcNow,
            CniPath = ResolveCniPath(),
        };
        state.Save(paths.StateFile);
        File.WriteAllText(paths.NetConf, topology.NetConf);
        File.WriteAllText(paths.CniConf, options.CniConf ?? SeedConfig.CniConfList);

        Time($"{topology.Namespaces.Count()} namespaces", () =>
        {
            foreach (string ns in topology.Namespaces)
            {
                state.Namespaces.Add(ns);
                state.Save(paths.StateFile);
                LabNetwork.CreateNamespace(ns);
            }
        });
        Time(topology.Underlay == LabUnderlay.L3
                ? "underlay l3: 192.0.2.0/24 and 198.51.100.0/24 joined by a router"
                : "underlay l2: one switch, 192.0.2.0/24",
            () => LabNetwork.BuildUnderlay(topology));

        foreach (LabNode node in topology.Nodes)
        {
            Directory.CreateDirectory(paths.NodeDir(node.Name));
            state.Nodes.Add(new LabNodeState
            {
                Name = node.Name,
                Namespace = node.Namespace,
                Address = node.Address.ToString(),
                HealthzPort = AgentLaunch.HealthzPort,
            });
        }
        state.Save(paths.StateFile);

        if (topology.Store == LabStore.Etcd)
        {
            Time($"etcd on {topology.ControlPlane!.Address}", () => StartEtcd(topology, paths, state));
        }
        else
        {
            Directory.CreateDirectory(paths.StoreDir);
        }

        Time($"{topology.Nodes.Count} agents ({TopologyPlanner.Format(topology.Backend)}), each node's subnet.env written", () =>
        {
            foreach (LabNode node in topology.Nodes)
            {
                Start(state, paths, "agent " + node.Name, node.Namespace,
                    AgentLaunch.Arguments(TwillPath, topology, node, paths), paths.AgentLog(node.Name));
            }
            WaitForSubnets(topology, paths, state);
        });

        string cniPath = ResolveCniPath();
        CniRuntime cni = new(cniPath, topology, paths);
        Time($"{topology.Pods.Count} pods via CNI ({topology.CniConf.Name}: {string.Join(" → ", topology.CniConf.Types)})", () =>
        {
            foreach (LabPod pod in topology.Pods)
            {
                state.Pods.Add(new LabPodState
                {
                    Name = pod.Name,
                    Namespace = pod.Namespace,
                    Node = pod.Node,
                    ContainerPort = pod.ContainerPort,
                    HostPort = pod.HostPort,
                });
            }
            state.Save(paths.StateFile);
            Exception? failure = null;
            // Nodes side by side (different namespaces and data dirs); one node's pods one after
            // another, so a plugin's per-node lock is never contended by the lab itself.
            Parallel.ForEach(topology.Pods.GroupBy(p => p.Node), new ParallelOptions { MaxDegreeOfParallelism = 4 }, node =>
            {
                foreach (LabPod pod in node)
                {
                    try
                    {
                        JsonNode result = cni.Add(pod);
                        lock (state)
                        {
                            LabPodState s = state.Pods.First(p => p.Name == pod.Name);
                            s.Added = true;
                            s.Address = CniRuntime.PodAddress(result);
                        }
                    }
                    catch (Exception e) when (e is LabStepException or IOException)
                    {
                        Interlocked.CompareExchange(ref failure, e, null);
                        return;
                    }
                }
            });
            state.Save(paths.StateFile);
            if (failure is not null)
            {
                throw new LabStepException(failure.Message + $" (plugin logs in {Path.Combine(paths.Root, "pods")})", failure);
            }
        });

        Time("pod responders (TCP :8080 in every pod)", () =>
        {
            File.Delete(LabResponder.ReadyFile(paths));
            // Run it inside the lab's switch namespace (its listeners are made in each pod's) so a
            // down that lost the state file still finds it among the lab's namespaces.
            LabProcess responder = Start(state, paths, "responder", topology.SwitchNamespace,
                [TwillPath, "lab", "serve", "--name", topology.Name, .. StateRoot is null ? Array.Empty<string>() : ["--state-root", StateRoot]],
                paths.ResponderLog);
            WaitFor(() => File.Exists(LabResponder.ReadyFile(paths)), TimeSpan.FromSeconds(10),
                () => LabProcesses.IsAlive(responder) ? null : $"the responder exited: {Tail(paths.ResponderLog)}",
                "the pod responder did not start within 10 s");
        });

        state.Ready = true;
        state.Save(paths.StateFile);
        return topology;
    }

    private void Preflight(LabTopology topology)
    {
        List<string> problems = [];
        if (!IsRoot())
        {
            problems.Add("twill lab needs root (network namespaces, netlink, iptables): run it with sudo");
        }
        if (FindOnPath("nsenter") is null)
        {
            problems.Add("nsenter not found on PATH (Debian package util-linux)");
        }
        if (topology.Store == LabStore.Etcd && FindOnPath("etcd") is null)
        {
            problems.Add("--store etcd needs the etcd binary on PATH (Debian package etcd-server)");
        }
        if (!File.Exists(TwillPath))
        {
            problems.Add($"the twill binary for the agents was not found at {TwillPath}");
        }
        string cni = ResolveCniPath();
        foreach (string type in topology.CniConf.Types.Distinct())
        {
            if (!File.Exists(Path.Combine(cni, type)))
            {
                problems.Add($"CNI plugin \"{type}\" not found in {cni} (run `make build`, or pass --cni-path)");
            }
        }
        LabPaths paths = Paths(topology.Name);
        string prefix = TopologyPlanner.LabPrefix(topology.Name);
        bool stateThere = File.Exists(paths.StateFile);
        bool namespacesThere = NetNs.List().Any(n => n.StartsWith(prefix, StringComparison.Ordinal));
        if (stateThere || namespacesThere)
        {
            string nameFlag = topology.Name == LabOptions.DefaultName ? "" : $" --name {topology.Name}";
            problems.Add($"a lab named \"{topology.Name}\" is already up ({(stateThere ? paths.StateFile : prefix + "* namespaces")}); " +
                         $"remove it with `twill lab down{nameFlag}`, or pick another --name");
        }
        if (problems.Count > 0)
        {
            throw new LabConfigException(string.Join(Environment.NewLine, problems));
        }
    }

    private LabProcess Start(LabState state, LabPaths paths, string role, string? netns, IReadOnlyList<string> command, string log)
    {
        LabProcess p = LabProcesses.StartBackground(role, netns, command, log);
        state.Processes.Add(p);
        state.Save(paths.StateFile);
        return p;
    }

    private void WaitForSubnets(LabTopology topology, LabPaths paths, LabState state)
    {
        Stopwatch sw = Stopwatch.StartNew();
        HashSet<string> pending = [.. topology.Nodes.Select(n => n.Name)];
        while (pending.Count > 0)
        {
            foreach (string node in pending.ToArray())
            {
                string file = paths.SubnetEnv(node);
                if (File.Exists(file))
                {
                    try
                    {
                        SubnetEnv env = SubnetEnv.Read(file);
                        if (env.Subnet is not null)
                        {
                            state.Nodes.First(n => n.Name == node).Subnet = env.Subnet.ToString();
                            pending.Remove(node);
                            continue;
                        }
                    }
                    catch (FormatException)
                    {
                        // Written atomically by the agent; a parse error means not there yet.
                    }
                }
                LabProcess agent = state.Processes.First(p => p.Role == "agent " + node);
                if (!LabProcesses.IsAlive(agent))
                {
                    throw new LabStepException($"the agent of {node} exited before writing {file}: {Tail(paths.AgentLog(node))}");
                }
            }
            if (pending.Count == 0)
            {
                break;
            }
            if (sw.Elapsed > SubnetTimeout)
            {
                string first = pending.Order(StringComparer.Ordinal).First();
                throw new LabStepException($"no subnet.env from {string.Join(", ", pending.Order(StringComparer.Ordinal))} " +
                                           $"within {SubnetTimeout.TotalSeconds:0} s; {first}'s agent log: {Tail(paths.AgentLog(first))}");
            }
            Thread.Sleep(25);
        }
        state.Save(paths.StateFile);
    }

    private void StartEtcd(LabTopology topology, LabPaths paths, LabState state)
    {
        LabHost cp = topology.ControlPlane!;
        LabProcess etcd = Start(state, paths, "etcd", cp.Namespace, AgentLaunch.EtcdArguments(topology, paths), paths.EtcdLog);
        using NetNs ns = NetNs.Open(cp.Namespace);
        EtcdGateway gateway = new(ns, new Uri(AgentLaunch.EtcdEndpoint(topology)));
        WaitFor(() => gateway.IsHealthy(), TimeSpan.FromSeconds(20),
            () => LabProcesses.IsAlive(etcd) ? null : $"etcd exited: {Tail(paths.EtcdLog)}",
            $"etcd did not become healthy within 20 s: {Tail(paths.EtcdLog)}");
        // Flannel (and an agent on etcd) reads the network configuration from <prefix>/config.
        gateway.Put("/coreos.com/network/config", topology.NetConf);
    }

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
                Underlay = state.Underlay == "l3" ? LabUnderlay.L3 : LabUnderlay.L2,
                Store = state.Store == "etcd" ? LabStore.Etcd : LabStore.File,
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

    // ---------------------------------------------------------------- helpers

    private void Time(string what, Action action)
    {
        Stopwatch sw = Stopwatch.StartNew();
        action();
        _report.Step(what, sw.Elapsed);
    }

    private static void WaitFor(Func<bool> done, TimeSpan timeout, Func<string?> failedEarly, string timeoutMessage)
    {
        Stopwatch sw = Stopwatch.StartNew();
        while (!done())
        {
            if (failedEarly() is string failure)
            {
                throw new LabStepException(failure);
            }
            if (sw.Elapsed > timeout)
            {
                throw new LabStepException(timeoutMessage);
            }
            Thread.Sleep(25);
        }
    }

    /// <summary>The last lines of a log, for an error message.</summary>
    public static string Tail(string log, int lines = 6)
    {
        if (!File.Exists(log))
        {
            return $"(no log at {log})";
        }
        string[] all = File.ReadAllLines(log);
        string text = string.Join(Environment.NewLine + "    ", all.TakeLast(lines));
        return all.Length == 0 ? $"({log} is empty)" : $"{Environment.NewLine}    {text}{Environment.NewLine}  (full log: {log})";
    }

    public static bool IsRoot()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2] == "0";
            }
        }
        return false;
    }

    public static string? FindOnPath(string program)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    internal static IPAddress? ParseAddress(string? text) => text is not null && IPAddress.TryParse(text, out IPAddress? a) ? a : null;
}
