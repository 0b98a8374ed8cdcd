using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>
/// <c>twill lab up</c> and <c>down</c>: builds the topology into namespaces, starts the store,
/// the agents and the pods in named steps, recording each thing in the journal (the state file)
/// before making it; and removes exactly what the state file and the lab's name prefix show.
/// </summary>
public sealed partial class LabController
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
        // 0700: the lab's state (tokens, leases, logs) is root's alone; everything of the lab is below it.
        Twill.Os.PrivateFiles.CreateDirectory(paths.Root);
        LabJournal journal = new(new LabState
        {
            Name = topology.Name,
            Backend = TopologyPlanner.Format(topology.Backend),
            Underlay = TopologyPlanner.Format(topology.Underlay),
            Store = TopologyPlanner.Format(topology.Store),
            TorMode = topology.Tor is LabTor tor ? TorPlanner.Format(tor.Mode) : null,
            Created = DateTimeOffset.UtcNow,
            CniPath = ResolveCniPath(),
        }, paths.StateFile);
        foreach (UpStep step in UpSteps(topology, options, paths, journal))
        {
            journal.Record(s => s.Step = step.Name);
            if (step.Report is null)
            {
                step.Run();
            }
            else
            {
                Time(step.Report, step.Run);
            }
        }
        journal.Record(s =>
        {
            s.Step = null;
            s.Ready = true;
        });
        return topology;
    }

    /// <summary>One step of <c>up</c>: its name (recorded in the state file while it runs) and what it reports when done (null: nothing).</summary>
    private sealed record UpStep(string Name, string? Report, Action Run);

    /// <summary>The steps of <c>up</c>, in order; each records what it makes in the journal before making it.</summary>
    private List<UpStep> UpSteps(LabTopology topology, LabOptions options, LabPaths paths, LabJournal journal) =>
    [
        new("config", null, () =>
        {
            File.WriteAllText(paths.NetConf, topology.NetConf);
            File.WriteAllText(paths.CniConf, options.CniConf ?? SeedConfig.CniConfList);
        }),
        new("namespaces", $"{topology.Namespaces.Count()} namespaces", () =>
        {
            foreach (string ns in topology.Namespaces)
            {
                journal.Record(s => s.Namespaces.Add(ns));
                LabNetwork.CreateNamespace(ns);
            }
        }),
        new("underlay", topology.Underlay switch
            {
                LabUnderlay.L3 => "underlay l3: 192.0.2.0/24 and 198.51.100.0/24 joined by a router",
                LabUnderlay.Tor => "underlay tor: racks 192.0.2.0/24 and 198.51.100.0/24, the ToR .1 on each and every node's gateway",
                _ => "underlay l2: one switch, 192.0.2.0/24",
            },
            () => LabNetwork.BuildUnderlay(topology)),
        .. TorRouterSteps(topology, paths, journal),
        new("nodes", null, () => RecordNodes(topology, paths, journal)),
        topology.Store switch
        {
            LabStore.Etcd => new("store", $"etcd on {topology.ControlPlane!.Address}", () => StartEtcd(topology, paths, journal)),
            LabStore.Kube => new("store", $"kube: API server stand-in on etcd at {KubeControlPlane.ServerUrl(topology)}, {topology.Nodes.Count} nodes registered with podCIDRs; admin kubeconfig {paths.Kubeconfig}",
                () => StartKube(topology, paths, journal)),
            _ => new("store", null, () => Twill.Os.PrivateFiles.CreateDirectory(paths.StoreDir)),
        },
        new("agents", $"{topology.Nodes.Count} agents ({TopologyPlanner.Format(topology.Backend)}), each node's subnet.env written",
            () => StartAgents(topology, paths, journal)),
        .. TorRouteSteps(topology, paths, journal),
        new("pods", $"{topology.Pods.Count} pods via CNI ({topology.CniConf.Name}: {string.Join(" → ", topology.CniConf.Types)})",
            () => AddPods(topology, paths, journal)),
        new("responder", "pod responders (TCP :8080 in every pod)", () => StartResponder(topology, paths, journal)),
    ];

    private static void RecordNodes(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        foreach (LabNode node in topology.Nodes)
        {
            Directory.CreateDirectory(paths.NodeDir(node.Name));
        }
        journal.Record(s => s.Nodes.AddRange(topology.Nodes.Select(node => new LabNodeState
        {
            Name = node.Name,
            Namespace = node.Namespace,
            Address = node.Address.ToString(),
            HealthzPort = AgentLaunch.HealthzPort,
        })));
    }

    private void AddPods(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        CniRuntime cni = new(node => NodeCni(topology, paths, node), topology, paths);
        journal.Record(s => s.Pods.AddRange(topology.Pods.Select(pod => new LabPodState
        {
            Name = pod.Name,
            Namespace = pod.Namespace,
            Node = pod.Node,
            ContainerPort = pod.ContainerPort,
            HostPort = pod.HostPort,
        })));
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
                    journal.Note(s =>
                    {
                        LabPodState p = s.Pods.First(p => p.Name == pod.Name);
                        p.Added = true;
                        p.Address = CniRuntime.PodAddress(result);
                    });
                }
                catch (Exception e) when (e is LabStepException or IOException)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    return;
                }
            }
        });
        journal.Save();
        if (failure is not null)
        {
            throw new LabStepException(failure.Message + $" (plugin logs in {Path.Combine(paths.Root, "pods")})", failure);
        }
    }

    private void StartResponder(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        File.Delete(LabResponder.ReadyFile(paths));
        // Run it inside the lab's switch namespace (its listeners are made in each pod's) so a
        // down that lost the state file still finds it among the lab's namespaces.
        LabProcess responder = Start(journal, "responder", topology.SwitchNamespace,
            [TwillPath, "lab", "serve", "--name", topology.Name, .. StateRoot is null ? Array.Empty<string>() : ["--state-root", StateRoot]],
            paths.ResponderLog);
        WaitFor(() => File.Exists(LabResponder.ReadyFile(paths)), TimeSpan.FromSeconds(10),
            () => LabProcesses.IsAlive(responder) ? null : $"the responder exited: {Tail(paths.ResponderLog)}",
            "the pod responder did not start within 10 s");
    }

    /// <summary>
    /// Journals the process (role, namespace, log; no PID yet) before starting it, then its PID and
    /// start time: a crash in between leaves an entry <c>down</c> passes over, and the process
    /// itself is found by the lab namespace it runs in.
    /// </summary>
    private static LabProcess Start(LabJournal journal, string role, string? netns, IReadOnlyList<string> command, string log,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        LabProcess entry = new() { Role = role, Namespace = netns, Log = log };
        journal.Record(s => s.Processes.Add(entry));
        LabProcess started = LabProcesses.StartBackground(role, netns, command, log, environment);
        journal.Record(_ =>
        {
            entry.Pid = started.Pid;
            entry.StartTicks = started.StartTicks;
        });
        return entry;
    }

    private void WaitForSubnets(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        LabState state = journal.State;
        Stopwatch sw = Stopwatch.StartNew();
        HashSet<string> pending = [.. topology.Nodes.Select(n => n.Name)];
        while (pending.Count > 0)
        {
            foreach (string node in pending.ToArray())
            {
                string file = NodeCni(topology, paths, topology.Node(node)).SubnetFile;
                if (File.Exists(file))
                {
                    try
                    {
                        SubnetEnv env = SubnetEnv.Read(file);
                        if (env.Subnet is not null)
                        {
                            journal.Note(s => s.Nodes.First(n => n.Name == node).Subnet = env.Subnet.ToString());
                            pending.Remove(node);
                            continue;
                        }
                    }
                    catch (FormatException)
                    {
                        // Written atomically by the agent; a parse error means not there yet.
                    }
                }
                if (!AgentRunning(state, topology.Node(node)))
                {
                    throw new LabStepException($"the agent of {node} exited before writing {file}: {AgentLogTail(paths, topology.Node(node))}");
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
                                           $"within {SubnetTimeout.TotalSeconds:0} s; {first}'s agent log: {AgentLogTail(paths, topology.Node(first))}");
            }
            Thread.Sleep(25);
        }
        journal.Save();
    }

    private static void StartEtcd(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        StartBareEtcd(topology, paths, journal);
        using NetNs ns = NetNs.Open(topology.ControlPlane!.Namespace);
        // Flannel (and an agent on etcd) reads the network configuration from <prefix>/config.
        new EtcdGateway(ns, new Uri(AgentLaunch.EtcdEndpoint(topology))).Put("/coreos.com/network/config", topology.NetConf);
    }

    /// <summary>--store kube: etcd, the stand-in on it, then the cluster's Nodes (the kubelet's and the node IPAM's part).</summary>
    private void StartKube(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        KubeControlPlane.WriteCredentials(TwillPath, topology, paths);
        StartBareEtcd(topology, paths, journal);
        LabProcess api = Start(journal, "kube-apiserver", topology.ControlPlane!.Namespace,
            KubeControlPlane.ApiServerArguments(TwillPath, topology, paths), paths.KubeApiServerLog);
        WaitFor(() => KubeControlPlane.IsReady(topology, paths), TimeSpan.FromSeconds(30),
            () => LabProcesses.IsAlive(api) ? null : $"twill-kube-apiserver exited: {Tail(paths.KubeApiServerLog)}",
            $"the API server stand-in did not answer kubectl within 30 s: {Tail(paths.KubeApiServerLog)}");
        KubeControlPlane.RegisterNodes(topology, paths);
    }

    private static void StartBareEtcd(LabTopology topology, LabPaths paths, LabJournal journal)
    {
        LabHost cp = topology.ControlPlane!;
        LabProcess etcd = Start(journal, "etcd", cp.Namespace, AgentLaunch.EtcdArguments(topology, paths), paths.EtcdLog);
        using NetNs ns = NetNs.Open(cp.Namespace);
        EtcdGateway gateway = new(ns, new Uri(AgentLaunch.EtcdEndpoint(topology)));
        WaitFor(() => gateway.IsHealthy(), TimeSpan.FromSeconds(20),
            () => LabProcesses.IsAlive(etcd) ? null : $"etcd exited: {Tail(paths.EtcdLog)}",
            $"etcd did not become healthy within 20 s: {Tail(paths.EtcdLog)}");
    }
}
