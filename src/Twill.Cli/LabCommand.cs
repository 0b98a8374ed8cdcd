using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Twill.Lab;

namespace Twill.Cli;

/// <summary>
/// <c>twill lab</c>: a whole multi-node cluster on this machine, in network namespaces
/// (up, check, status, exec, down). The work is in Twill.Lab; this maps flags onto it.
/// </summary>
internal static class LabCommand
{
    public static Command Create()
    {
        Command lab = new("lab", "Run a whole multi-node cluster on this machine in network namespaces (up, check, status, exec, down).");
        lab.Subcommands.Add(Up());
        lab.Subcommands.Add(Check());
        lab.Subcommands.Add(Status());
        lab.Subcommands.Add(Exec());
        lab.Subcommands.Add(Down());
        lab.Subcommands.Add(Serve());
        return lab;
    }

    private static Option<string> NameOption() => new("--name")
    {
        Description = "The lab's name: its namespaces are twl-<name>-*, its state /run/twill/lab/<name>.",
        DefaultValueFactory = _ => LabOptions.DefaultName,
    };

    private static Option<string?> StateRootOption() => new("--state-root")
    {
        Description = "Where lab state directories live (default /run/twill/lab).",
        Hidden = true,
    };

    private static Command Up()
    {
        Option<int> nodes = new("--nodes") { Description = "Number of nodes.", DefaultValueFactory = _ => 3 };
        Option<string?> backend = new("--backend") { Description = "vxlan, host-gw or bgp (default: the net-conf's; the seed's vxlan; bgp with --topology tor)." };
        backend.AcceptOnlyFromAmong("vxlan", "host-gw", "bgp");
        Option<string> underlay = new("--underlay", "--topology")
        {
            Description = "l2: one switch; l3: two segments joined by a router; tor: two racks whose FRR top-of-rack router routes every pod subnet.",
            DefaultValueFactory = _ => "l2",
        };
        underlay.AcceptOnlyFromAmong("l2", "l3", "tor");
        Option<string?> torMode = new("--tor-mode") { Description = "With --topology tor: bgp (agents announce to the ToR; default) or static (the lab types `twill tor routes --format frr` into it)." };
        torMode.AcceptOnlyFromAmong("bgp", "static");
        Option<string> store = new("--store") { Description = "file (embedded), etcd (a real etcd in a control-plane namespace) or kube (--kube-subnet-mgr against the API server stand-in there).", DefaultValueFactory = _ => "file" };
        store.AcceptOnlyFromAmong("file", "etcd", "kube");
        Option<int> pods = new("--pods-per-node") { Description = "Pods on each node.", DefaultValueFactory = _ => 2 };
        Option<FileInfo?> netConf = new("--net-conf") { Description = "net-conf.json to use (default: the seed's)." };
        Option<FileInfo?> cniConf = new("--cni-conf") { Description = "CNI conflist to use (default: the seed's vxlan0)." };
        Option<string?> cniPath = new("--cni-path") { Description = "Directory of the CNI plugins (default: out/cni beside this twill)." };
        Option<string?> agentBinary = new("--agent-binary") { Description = "The twill binary the agents run as (default: this one).", Hidden = true };
        Option<string> name = NameOption();
        Option<string?> root = StateRootOption();

        Command up = new("up", "Build the lab: namespaces, underlay, store, one agent per node, pods via CNI.")
        {
            nodes, backend, underlay, torMode, store, pods, netConf, cniConf, cniPath, name, root, agentBinary,
        };
        up.SetAction(parse =>
        {
            LabConsole console = new();
            try
            {
                FileInfo? nc = parse.GetValue(netConf);
                FileInfo? cc = parse.GetValue(cniConf);
                LabOptions options = new()
                {
                    Name = parse.GetValue(name)!,
                    Nodes = parse.GetValue(nodes),
                    Backend = parse.GetValue(backend) switch { "host-gw" => LabBackend.HostGw, "vxlan" => LabBackend.Vxlan, "bgp" => LabBackend.Bgp, _ => null },
                    Underlay = TopologyPlanner.ParseUnderlay(parse.GetValue(underlay)),
                    TorMode = parse.GetValue(torMode) is string mode ? TorPlanner.ParseMode(mode) : null,
                    Store = TopologyPlanner.ParseStore(parse.GetValue(store)),
                    PodsPerNode = parse.GetValue(pods),
                    NetConf = nc is null ? null : ReadFile(nc, "--net-conf"),
                    NetConfSource = nc?.FullName ?? "net-conf.json",
                    CniConf = cc is null ? null : ReadFile(cc, "--cni-conf"),
                    CniConfSource = cc?.FullName ?? "cni-conf.json",
                };
                LabController controller = new(console, parse.GetValue(root))
                {
                    CniPath = parse.GetValue(cniPath),
                    TwillPath = parse.GetValue(agentBinary) ?? Environment.ProcessPath ?? "twill",
                };
                Stopwatch sw = Stopwatch.StartNew();
                LabTopology topology;
                try
                {
                    topology = controller.Up(options);
                }
                catch (LabStepException e)
                {
                    console.Error(e.Message);
                    console.Note($"the lab is left as it is for a look (twill lab status, twill lab exec); remove it with `twill lab down{NameFlag(options.Name)}`");
                    return ExitCodes.Failed;
                }
                console.Heading($"lab '{topology.Name}' is up in {sw.Elapsed.TotalSeconds:0.0} s: {topology.Nodes.Count} nodes, {topology.Pods.Count} pods, " +
                                $"{TopologyPlanner.Format(topology.Backend)} on {TopologyPlanner.Format(topology.Underlay)}, {TopologyPlanner.Format(topology.Store)} store");
                console.Note($"next: twill lab check{NameFlag(topology.Name)} · twill lab status · twill lab exec {topology.Pods[0].Name} -- ip route · twill lab down{NameFlag(topology.Name)}");
                return 0;
            }
            catch (LabConfigException e)
            {
                console.Error(e.Message);
                return ExitCodes.Usage;
            }
        });
        return up;
    }

    private static Command Check()
    {
        Option<string> name = NameOption();
        Option<string?> root = StateRootOption();
        Option<double> wait = new("--wait") { Description = "Seconds to keep retrying failed probes (routes appear a moment after a lease).", DefaultValueFactory = _ => 10 };
        Command check = new("check", "Ping and TCP between every pair of pods, pod to a foreign node, every hostPort from another node.")
        {
            name, root, wait,
        };
        check.SetAction(parse =>
        {
            LabConsole console = new();
            if (!TryLoad(console, parse.GetValue(name)!, parse.GetValue(root), out LabState? state, out _))
            {
                return ExitCodes.Usage;
            }
            if (!state.Ready)
            {
                console.Warn($"lab {state.Name}: `lab up` did not finish; what it made is checked as it is");
            }
            CheckReport report = LabChecker.RunAsync(state, TimeSpan.FromSeconds(parse.GetValue(wait)), TimeSpan.FromMilliseconds(1000))
                .GetAwaiter().GetResult();
            console.Matrix(report, state);
            return report.Ok ? 0 : ExitCodes.Failed;
        });
        return check;
    }

    private static Command Status()
    {
        Option<string> name = NameOption();
        Option<string?> root = StateRootOption();
        Command status = new("status", "Nodes, their leases (subnet.env), agent health and the kernel objects on each node.") { name, root };
        status.SetAction(parse =>
        {
            LabConsole console = new();
            if (!TryLoad(console, parse.GetValue(name)!, parse.GetValue(root), out LabState? state, out LabPaths? paths))
            {
                return ExitCodes.Usage;
            }
            console.Heading($"lab {state.Name}: {state.Backend}{(state.TorMode is string m ? $" ({m} mode)" : "")} on {state.Underlay}, {state.Store} store{(state.Ready ? "" : " (up did not finish)")}");
            IReadOnlyList<NodeStatus> nodes = LabStatus.Collect(state, paths);
            console.Table(["node", "address", "lease (subnet.env)", "agent", "healthz", "kernel"],
                nodes.Select(n => new[] { n.Node, n.Address, n.Subnet, n.Agent, n.Health, n.Kernel }));
            if (state.Store == TopologyPlanner.Format(LabStore.Kube))
            {
                KubeStatusTable(console, state, paths);
            }
            console.Table(["pod", "node", "address", "hostPort"],
                state.Pods.Select(p => new[] { p.Name, p.Node, p.Address ?? "-", $"{p.HostPort} → {p.ContainerPort}" }));
            if (TorStatus.Collect(state, paths) is TorStatus tor)
            {
                console.Heading(tor.Heading);
                console.Table(["ToR route", "via", "proto", "node"], tor.Routes.Select(r => new[] { r.Subnet, r.Via, r.Protocol, r.Node }));
                console.Note(tor.BgpSummary);
            }
            foreach (LabProcess p in state.Processes.Where(p => p.Role is "etcd" or "kube-apiserver" or "responder" || p.Role.StartsWith("tor ", StringComparison.Ordinal)))
            {
                console.Note($"{p.Role}: PID {p.Pid} {(LabProcesses.IsAlive(p) ? "running" : "exited")}, log {p.Log}");
            }
            return nodes.All(n => n.Agent.StartsWith("running", StringComparison.Ordinal)) ? 0 : ExitCodes.Failed;
        });
        return status;
    }

    // The Nodes as the API server holds them: Flannel's annotations and NetworkUnavailable (the IPv6 columns only when a node has them).
    private static void KubeStatusTable(LabConsole console, LabState state, LabPaths paths)
    {
        IReadOnlyList<KubeNodeStatus> kube = LabKubeStatus.Collect(state, paths, out string? problem);
        if (problem is not null)
        {
            console.Warn(problem);
            return;
        }
        bool v6 = kube.Any(k => k.PublicIPv6 != "-" || k.VtepMacV6 != "-");
        string[] head = ["Node", "podCIDRs", "backend-type", "public-ip", "VtepMAC", .. v6 ? (string[])["public-ipv6", "VtepMAC (v6)"] : [], "NetworkUnavailable"];
        console.Table(head, kube.Select(k => (string[])[k.Node, k.PodCidrs, k.BackendType, k.PublicIP, k.VtepMac,
            .. v6 ? (string[])[k.PublicIPv6, k.VtepMacV6] : [], k.NetworkUnavailable]));
    }

    private static Command Exec()
    {
        Option<string> name = NameOption();
        Option<string?> root = StateRootOption();
        Argument<string> target = new("target") { Description = "A node (node1), a pod (n1p2), or router / tor / switch / cp." };
        Argument<string[]> command = new("command") { Description = "The command to run there (after --); default: a shell.", Arity = ArgumentArity.ZeroOrMore };
        Command exec = new("exec", "Run a command inside a node's or a pod's network namespace (nsenter --net).") { name, root, target, command };
        exec.SetAction(parse =>
        {
            LabConsole console = new();
            if (!TryLoad(console, parse.GetValue(name)!, parse.GetValue(root), out LabState? state, out _))
            {
                return ExitCodes.Usage;
            }
            string t = parse.GetValue(target)!;
            string prefix = TopologyPlanner.LabPrefix(state.Name);
            string alias = t switch { "router" => "rtr", "switch" => "sw", _ => t };
            string? ns = state.Namespaces.FirstOrDefault(n => n == t || n == prefix + alias);
            if (ns is null)
            {
                console.Error($"no node or pod \"{t}\" in lab {state.Name}; there are: {string.Join(", ", state.Namespaces.Select(n => n[prefix.Length..]))}");
                return ExitCodes.Usage;
            }
            string[] cmd = parse.GetValue(command) is { Length: > 0 } c ? c : [Environment.GetEnvironmentVariable("SHELL") ?? "/bin/sh"];
            IReadOnlyList<string> argv = LabProcesses.WithNetns(ns, cmd);
            ProcessStartInfo psi = new(argv[0]) { UseShellExecute = false };
            foreach (string a in argv.Skip(1))
            {
                psi.ArgumentList.Add(a);
            }
            using Process p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode;
        });
        return exec;
    }

    private static Command Down()
    {
        Option<string> name = NameOption();
        Option<string?> root = StateRootOption();
        Option<string?> cniPath = new("--cni-path") { Description = "Directory of the CNI plugins for DEL (default: out/cni beside this twill)." };
        Option<bool> cniDel = new("--cni-del") { Description = "Run CNI DEL for every pod before removing the namespaces (for a --cni-conf whose plugins keep state outside the lab)." };
        Command down = new("down", "Remove the lab: the processes, namespaces and files it made, and only those. Safe to run twice.") { name, root, cniPath, cniDel };
        down.SetAction(parse =>
        {
            LabConsole console = new();
            string labName = parse.GetValue(name)!;
            if (!LabController.IsRoot())
            {
                console.Error("twill lab down needs root: run it with sudo");
                return ExitCodes.Usage;
            }
            LabController controller = new(console, parse.GetValue(root)) { CniPath = parse.GetValue(cniPath) };
            if (!controller.Down(labName, parse.GetValue(cniDel)))
            {
                console.Note($"lab {labName}: nothing to remove");
                return 0;
            }
            console.Heading($"lab '{labName}' removed");
            return 0;
        });
        return down;
    }

    // The pods' TCP responder, started by `lab up` in the background; not for people.
    private static Command Serve()
    {
        Option<string> name = NameOption();
        Option<string?> root = StateRootOption();
        Command serve = new("serve", "(internal) the pods' TCP responder.") { name, root };
        serve.Hidden = true;
        serve.SetAction(parse =>
        {
            using CancellationTokenSource stop = new();
            using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            return LabResponder.Run(parse.GetValue(name)!, parse.GetValue(root), stop.Token);
        });
        return serve;
    }

    private static bool TryLoad(LabConsole console, string name, string? root, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LabState? state,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LabPaths? paths)
    {
        paths = new LabPaths(name, root);
        try
        {
            state = LabState.Load(paths.StateFile);
        }
        catch (LabConfigException e)
        {
            console.Error(e.Message);
            state = null;
            return false;
        }
        if (state is null)
        {
            console.Error($"no lab named \"{name}\" is up (no {paths.StateFile}); start one with `twill lab up{NameFlag(name)}`");
            return false;
        }
        return true;
    }

    private static string ReadFile(FileInfo file, string flag) =>
        file.Exists ? File.ReadAllText(file.FullName) : throw new LabConfigException($"{flag} {file.FullName}: no such file");

    private static string NameFlag(string name) => name == LabOptions.DefaultName ? "" : $" --name {name}";
}
