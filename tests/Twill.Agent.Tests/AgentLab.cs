using System.Diagnostics;
using System.Text.Json;
using Twill.Core;
using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>
/// Nodes as namespaces on one underlay bridge (a "switch" namespace; IPv4 192.0.2.0/24 and IPv6
/// 2001:db8::/64, documentation ranges), each running a real agent process
/// (<c>nsenter --net=... twill agent</c>) on a shared file store, and one pod per node (a namespace
/// with a veth on the node's <c>cni0</c> bridge holding the gateway of each family subnet.env names:
/// pods get <c>&lt;subnet&gt;.2</c> and <c>&lt;IPv6 subnet&gt;::2</c>). Everything is removed on
/// Dispose: agents (by PID), namespaces, the temp directory.
/// </summary>
internal sealed class AgentLab : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    /// <param name="sharedStateDir">Every agent keeps its state (VtepMAC, firewall lock) in one directory, as two agents on one machine without --state-dir do.</param>
    /// <param name="oneByOne">Start each agent only once the previous one wrote subnet.env (its lease is in the store).</param>
    /// <param name="storeArgs">The agents' store flags (default: the file store in <see cref="StoreDir"/>).</param>
    /// <param name="beforeAgents">Called once the switch and nodes exist, before any agent starts (a control plane on the switch).</param>
    public AgentLab(string netConf, int nodes, string? extraAgentArgs = null, bool sharedStateDir = false, bool oneByOne = false,
        string[]? storeArgs = null, Action<AgentLab>? beforeAgents = null)
    {
        SharedStateDir = sharedStateDir;
        Dir = Directory.CreateTempSubdirectory("twill-agent-lab-").FullName;
        File.WriteAllText(Path.Combine(Dir, "net-conf.json"), netConf);
        ExtraArgs = extraAgentArgs?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        try
        {
            Switch = Own(new TestNetns("sw"));
            Switch.Ip("link", "add", "br0", "type", "bridge");
            Switch.Ip("link", "set", "br0", "up");
            for (int i = 1; i <= nodes; i++)
            {
                TestNetns node = Own(new TestNetns("n" + i));
                Switch.Ip("link", "add", "p" + i, "type", "veth", "peer", "name", "eth0", "netns", node.Name);
                Switch.Ip("link", "set", "p" + i, "master", "br0", "up");
                node.Ip("addr", "add", $"192.0.2.{10 + i}/24", "dev", "eth0");
                node.Ip("addr", "add", $"2001:db8::{10 + i}/64", "dev", "eth0", "nodad");
                node.Ip("link", "set", "eth0", "up");
                node.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1").EnsureSuccess("sysctl ip_forward");
                node.Exec("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1").EnsureSuccess("sysctl ipv6 forwarding");
                Nodes.Add(node);
                Agents.Add(null);
            }
            StoreArgs = storeArgs ?? ["--store", "file", "--store-dir", StoreDir];
            beforeAgents?.Invoke(this);
            List<SubnetEnv> envs = [];
            for (int i = 0; i < nodes; i++)
            {
                StartAgent(i);
                if (oneByOne)
                {
                    envs.Add(WaitSubnetEnv(i));
                }
            }
            for (int i = 0; i < nodes; i++)
            {
                Pods.Add(WirePod(i, oneByOne ? envs[i] : WaitSubnetEnv(i)));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Dir { get; }
    public bool SharedStateDir { get; }
    public string StoreDir => Path.Combine(Dir, "store");
    public string[] ExtraArgs { get; }
    public string[] StoreArgs { get; private set; } = [];

    /// <summary>Sets the agents' store flags (from <c>beforeAgents</c>, once the store's address is known).</summary>
    public void UseStoreArgs(string[] args) => StoreArgs = args;
    public TestNetns Switch { get; }
    public List<TestNetns> Nodes { get; } = [];
    public List<TestNetns> Pods { get; } = [];
    public List<Process?> Agents { get; } = [];

    /// <summary>The twill binary: TWILL_BIN, else the repository's out/bin/twill (make build).</summary>
    public static string Binary
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("TWILL_BIN");
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }
            string dir = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(dir, "Twill.slnx")))
            {
                dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found; set TWILL_BIN");
            }
            return Path.Combine(dir, "out", "bin", "twill");
        }
    }

    public string NodeDir(int i) => Path.Combine(Dir, "node" + (i + 1));

    public string SubnetFile(int i) => Path.Combine(NodeDir(i), "subnet.env");

    public string LogFile(int i) => Path.Combine(NodeDir(i), "agent.log");

    /// <summary>Where agent <paramref name="i"/> keeps its state: its node directory, or the one shared directory.</summary>
    public string StateDir(int i) => SharedStateDir ? Path.Combine(Dir, "state") : NodeDir(i);

    public void StartAgent(int i)
    {
        Directory.CreateDirectory(NodeDir(i));
        ProcessStartInfo psi = new("nsenter")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string a in (string[])["--net=" + Nodes[i].Path, Binary, "agent", "--iface", "eth0", .. StoreArgs,
            "--net-config-path", Path.Combine(Dir, "net-conf.json"), "--subnet-file", SubnetFile(i), "--state-dir", StateDir(i),
            "--resync-period", "1s", "--log-level", "debug", .. ExtraArgs])
        {
            psi.ArgumentList.Add(a);
        }
        // The Kubernetes store's node name (the DaemonSet's NODE_NAME); the other stores ignore it.
        psi.Environment["NODE_NAME"] = "n" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Process p = Process.Start(psi) ?? throw new InvalidOperationException("nsenter did not start");
        StreamWriter log = new(LogFile(i), append: true) { AutoFlush = true };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        Agents[i] = p;
    }

    /// <summary>
    /// Waits for agent <paramref name="i"/> to exit on its own, and for its log to be complete: a process's
    /// exit does not mean its redirected output has been read (only <c>WaitForExit()</c> without a timeout waits for that).
    /// </summary>
    public bool WaitAgentExit(int i, TimeSpan timeout)
    {
        Process p = Agents[i] ?? throw new InvalidOperationException($"agent {i} not running");
        if (!p.WaitForExit(timeout))
        {
            return false;
        }
        p.WaitForExit();
        return true;
    }

    /// <summary>SIGTERM, then wait for the agent to exit; returns its exit code.</summary>
    public int StopAgent(int i)
    {
        Process p = Agents[i] ?? throw new InvalidOperationException($"agent {i} not running");
        Tool.Run("kill", "-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!p.WaitForExit(10_000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        Agents[i] = null;
        int code = p.ExitCode;
        p.Dispose();
        return code;
    }

    public SubnetEnv WaitSubnetEnv(int i, TimeSpan? timeout = null)
    {
        Stopwatch sw = Stopwatch.StartNew();
        while (sw.Elapsed < (timeout ?? TimeSpan.FromSeconds(20)))
        {
            if (File.Exists(SubnetFile(i)))
            {
                return SubnetEnv.Read(SubnetFile(i));
            }
            if (Agents[i] is { HasExited: true } p)
            {
                throw new InvalidOperationException($"agent {i + 1} exited with {p.ExitCode}: {Log(i)}");
            }
            Thread.Sleep(50);
        }
        throw new TimeoutException($"agent {i + 1} wrote no subnet.env: {Log(i)}");
    }

    public string Log(int i) => File.Exists(LogFile(i)) ? File.ReadAllText(LogFile(i)) : "(no log)";

    private TestNetns WirePod(int i, SubnetEnv env)
    {
        TestNetns node = Nodes[i];
        string mtu = env.Mtu!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        node.Ip("link", "add", "cni0", "mtu", mtu, "type", "bridge");
        node.Ip("link", "set", "cni0", "up");
        TestNetns pod = Own(new TestNetns("pod" + (i + 1)));
        node.Ip("link", "add", "vp", "mtu", mtu, "type", "veth", "peer", "name", "eth0", "netns", pod.Name);
        node.Ip("link", "set", "vp", "master", "cni0", "up");
        pod.Ip("link", "set", "eth0", "up");
        if (env.Subnet is Twill.Core.InterfaceAddress gw4)
        {
            node.Ip("addr", "add", gw4.ToString(), "dev", "cni0");
            pod.Ip("addr", "add", $"{PodIp(env)}/{gw4.PrefixLength}", "dev", "eth0");
            pod.Ip("route", "add", "default", "via", gw4.Address.ToString());
        }
        if (env.IPv6Subnet is Twill.Core.InterfaceAddress gw6)
        {
            node.Ip("addr", "add", gw6.ToString(), "dev", "cni0", "nodad");
            pod.Ip("addr", "add", $"{PodIp6(env)}/{gw6.PrefixLength}", "dev", "eth0", "nodad");
            pod.Ip("-6", "route", "add", "default", "via", gw6.Address.ToString());
        }
        return pod;
    }

    /// <summary>The pod's IPv4 address: the subnet's .2.</summary>
    public static string PodIp(SubnetEnv env)
    {
        byte[] b = env.Subnet!.Value.Address.GetAddressBytes();
        b[3] = 2;
        return new System.Net.IPAddress(b).ToString();
    }

    /// <summary>The pod's IPv6 address: the subnet's ::2.</summary>
    public static string PodIp6(SubnetEnv env)
    {
        byte[] b = env.IPv6Subnet!.Value.Address.GetAddressBytes();
        b[15] = 2;
        return new System.Net.IPAddress(b).ToString();
    }

    public string PodIp(int i) => PodIp(SubnetEnv.Read(SubnetFile(i)));

    /// <summary>Pings from pod <paramref name="from"/> to pod <paramref name="to"/>'s IPv4 address; true when answered.</summary>
    public bool Ping(int from, int to, params string[] extra) =>
        Pods[from].Exec(["ping", "-c", "1", "-W", "2", .. extra, PodIp(to)]).ExitCode == 0;

    /// <summary>Pings pod <paramref name="to"/> from pod <paramref name="from"/> over one family ("-4" or "-6").</summary>
    public bool PingFamily(int from, int to, string family)
    {
        SubnetEnv env = SubnetEnv.Read(SubnetFile(to));
        string target = family == "-6" ? PodIp6(env) : PodIp(env);
        return Pods[from].Exec("ping", family, "-c", "1", "-W", "2", target).ExitCode == 0;
    }

    /// <summary>Waits until <paramref name="condition"/> holds; false on timeout.</summary>
    public static bool Eventually(Func<bool> condition, TimeSpan timeout)
    {
        Stopwatch sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }
            Thread.Sleep(100);
        }
        return condition();
    }

    public string[] TwillRoutes(int node) => TwillRoutes(node, "-4");

    /// <summary>The destinations of node <paramref name="node"/>'s proto-84 routes of one family ("-4" or "-6").</summary>
    public string[] TwillRoutes(int node, string family) => [.. Nodes[node].IpJson(family, "route", "show", "proto", "84").EnumerateArray()
        .Select(r => r.GetProperty("dst").GetString()!).Order(StringComparer.Ordinal)];

    private T Own<T>(T d) where T : IDisposable
    {
        _owned.Add(d);
        return d;
    }

    public void Dispose()
    {
        for (int i = 0; i < Agents.Count; i++)
        {
            if (Agents[i] is Process p)
            {
                try
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
                catch (InvalidOperationException)
                {
                }
                p.Dispose();
                Agents[i] = null;
            }
        }
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
