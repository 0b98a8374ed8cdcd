using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Twill.Core;
using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>
/// Dual-stack nodes as namespaces on one underlay bridge: IPv4 192.0.2.0/24 and IPv6 2001:db8::/64
/// (documentation ranges), pods in 10.244.0.0/16 and fd00:10:244::/56 only inside the namespaces.
/// Each node runs a real agent process on a shared file store; each pod has a veth on the node's
/// <c>cni0</c> bridge with <c>&lt;subnet&gt;.2</c> and <c>&lt;ipv6 subnet&gt;::2</c>. Removed on Dispose.
/// </summary>
internal sealed class Ipv6AgentLab : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    private readonly string[] _extraArgs;

    public Ipv6AgentLab(string netConf, int nodes, params string[] extraAgentArgs)
    {
        _extraArgs = extraAgentArgs;
        Dir = Directory.CreateTempSubdirectory("twill-ipv6-lab-").FullName;
        File.WriteAllText(Path.Combine(Dir, "net-conf.json"), netConf);
        try
        {
            Switch = Own(new TestNetns("sw6"));
            Switch.Ip("link", "add", "br0", "type", "bridge");
            Switch.Ip("link", "set", "br0", "up");
            for (int i = 1; i <= nodes; i++)
            {
                TestNetns node = Own(new TestNetns("n6" + i));
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
            for (int i = 0; i < nodes; i++)
            {
                StartAgent(i);
            }
            for (int i = 0; i < nodes; i++)
            {
                Pods.Add(WirePod(i, WaitSubnetEnv(i)));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Dir { get; }
    public TestNetns Switch { get; }
    public List<TestNetns> Nodes { get; } = [];
    public List<TestNetns> Pods { get; } = [];
    public List<Process?> Agents { get; } = [];

    public string NodeDir(int i) => Path.Combine(Dir, "node" + (i + 1));

    public string SubnetFile(int i) => Path.Combine(NodeDir(i), "subnet.env");

    public string LogFile(int i) => Path.Combine(NodeDir(i), "agent.log");

    public string Log(int i) => File.Exists(LogFile(i)) ? File.ReadAllText(LogFile(i)) : "(no log)";

    private void StartAgent(int i)
    {
        Directory.CreateDirectory(NodeDir(i));
        ProcessStartInfo psi = new("nsenter") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in (string[])["--net=" + Nodes[i].Path, AgentLab.Binary, "agent", "--iface", "eth0", "--store", "file",
            "--store-dir", Path.Combine(Dir, "store"), "--net-config-path", Path.Combine(Dir, "net-conf.json"), "--subnet-file", SubnetFile(i),
            "--state-dir", NodeDir(i), "--resync-period", "1s", "--log-level", "debug", .. _extraArgs])
        {
            psi.ArgumentList.Add(a);
        }
        Process p = Process.Start(psi) ?? throw new InvalidOperationException("nsenter did not start");
        StreamWriter log = new(LogFile(i), append: true) { AutoFlush = true };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        Agents[i] = p;
    }

    public SubnetEnv WaitSubnetEnv(int i)
    {
        Stopwatch sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(20))
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

    private TestNetns WirePod(int i, SubnetEnv env)
    {
        TestNetns node = Nodes[i];
        string mtu = env.Mtu!.Value.ToString(CultureInfo.InvariantCulture);
        node.Ip("link", "add", "cni0", "mtu", mtu, "type", "bridge");
        node.Ip("link", "set", "cni0", "up");
        TestNetns pod = Own(new TestNetns("pod6" + (i + 1)));
        node.Ip("link", "add", "vp", "mtu", mtu, "type", "veth", "peer", "name", "eth0", "netns", pod.Name);
        node.Ip("link", "set", "vp", "master", "cni0", "up");
        pod.Ip("link", "set", "eth0", "up");
        if (env.Subnet is InterfaceAddress gw4)
        {
            node.Ip("addr", "add", gw4.ToString(), "dev", "cni0");
            pod.Ip("addr", "add", $"{PodIp4(env)}/{gw4.PrefixLength}", "dev", "eth0");
            pod.Ip("route", "add", "default", "via", gw4.Address.ToString());
        }
        if (env.IPv6Subnet is InterfaceAddress gw6)
        {
            node.Ip("addr", "add", gw6.ToString(), "dev", "cni0", "nodad");
            pod.Ip("addr", "add", $"{PodIp6(env)}/{gw6.PrefixLength}", "dev", "eth0", "nodad");
            pod.Ip("-6", "route", "add", "default", "via", gw6.Address.ToString());
        }
        return pod;
    }

    /// <summary>The pod's IPv4 address: the subnet's .2.</summary>
    public static string PodIp4(SubnetEnv env)
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

    /// <summary>Pings pod <paramref name="to"/> from pod <paramref name="from"/> over one family ("-4" or "-6").</summary>
    public bool Ping(int from, int to, string family)
    {
        SubnetEnv env = SubnetEnv.Read(SubnetFile(to));
        string target = family == "-6" ? PodIp6(env) : PodIp4(env);
        return Pods[from].Exec("ping", family, "-c", "1", "-W", "2", target).ExitCode == 0;
    }

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

/// <summary>Whole agents, dual-stack and IPv6-only, in namespaces: the pod-to-pod data path of each family.</summary>
public class DualStackIpv6LabTests
{
    private const string DualVxlan =
        """{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}""";

    private static bool Eventually(Func<bool> condition, TimeSpan timeout)
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

    [RootFact]
    public void Agents_DualStackVxlan_PodsPingOverIpv4AndIpv6()
    {
        using Ipv6AgentLab lab = new(DualVxlan, nodes: 2);

        SubnetEnv env = SubnetEnv.Read(lab.SubnetFile(0));
        string text = File.ReadAllText(lab.SubnetFile(0));
        Assert.Equal(System.Net.IPNetwork.Parse("fd00:10:244::/56"), env.IPv6Network);
        Assert.Equal(64, env.IPv6Subnet!.Value.PrefixLength);
        Assert.Contains("FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:", text, StringComparison.Ordinal);
        Assert.Contains("FLANNEL_MTU=1430\n", text, StringComparison.Ordinal);
        Assert.True(Eventually(() => lab.Ping(0, 1, "-6") && lab.Ping(1, 0, "-6"), TimeSpan.FromSeconds(15)),
            "ping -6 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        Assert.True(Eventually(() => lab.Ping(0, 1, "-4") && lab.Ping(1, 0, "-4"), TimeSpan.FromSeconds(15)),
            "ping -4 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        SubnetEnv peer = SubnetEnv.Read(lab.SubnetFile(1));
        string peer6 = $"{peer.IPv6Subnet!.Value.Address.ToString()[..^1]}/64";
        Assert.Equal([peer6], lab.TwillRoutes(0, "-6"));
        Assert.Single(lab.TwillRoutes(0, "-4"));
        JsonElement dev = lab.Nodes[0].IpJson("-d", "link", "show", "flannel-v6.1")[0];
        Assert.Equal("2001:db8::11", dev.GetProperty("linkinfo").GetProperty("info_data").GetProperty("local6").GetString());
        Assert.Equal(1430, dev.GetProperty("mtu").GetInt32());
    }

    [RootFact]
    public void Agents_DualStackIpMasq_Ip6tablesRulesForIpv6NetworkAndPodsStillPing()
    {
        using Ipv6AgentLab lab = new(DualVxlan, 2, "--ip-masq");

        Assert.True(Eventually(() => lab.Ping(0, 1, "-6"), TimeSpan.FromSeconds(15)), "ping -6 failed\n" + lab.Log(0));
        string nat6 = lab.Nodes[0].Exec("ip6tables-save", "-t", "nat").EnsureSuccess("ip6tables-save").Stdout;
        string nat4 = lab.Nodes[0].Exec("iptables-save", "-t", "nat").EnsureSuccess("iptables-save").Stdout;
        Assert.Contains("TWILL-POSTRTG", nat6, StringComparison.Ordinal);
        Assert.Contains("fd00:10:244::/56", nat6, StringComparison.Ordinal);
        Assert.DoesNotContain("10.244.0.0/16", nat6, StringComparison.Ordinal);
        Assert.Contains("10.244.0.0/16", nat4, StringComparison.Ordinal);
        Assert.Contains("FLANNEL_IPMASQ=true", File.ReadAllText(lab.SubnetFile(0)), StringComparison.Ordinal);
    }

    [RootFact]
    public void Agents_Ipv6OnlyVxlan_PodsPingOverIpv6AndNoIpv4Device()
    {
        using Ipv6AgentLab lab = new(
            """{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}""", nodes: 2);

        string text = File.ReadAllText(lab.SubnetFile(0));
        Assert.DoesNotContain("FLANNEL_NETWORK", text, StringComparison.Ordinal);
        Assert.Contains("FLANNEL_IPV6_SUBNET=fd00:10:244:", text, StringComparison.Ordinal);
        Assert.True(Eventually(() => lab.Ping(0, 1, "-6") && lab.Ping(1, 0, "-6"), TimeSpan.FromSeconds(15)),
            "ping -6 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        Assert.Empty(lab.TwillRoutes(0, "-4"));
        Assert.NotEqual(0, lab.Nodes[0].Exec("ip", "link", "show", "flannel.1").ExitCode);
        Assert.Equal(0, lab.Nodes[0].Exec("ip", "link", "show", "flannel-v6.1").ExitCode);
    }

    [RootFact]
    public void Agents_DualStackHostGw_PodsPingOverIpv4AndIpv6()
    {
        using Ipv6AgentLab lab = new(
            """{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"host-gw"}}""", nodes: 2);

        Assert.True(Eventually(() => lab.Ping(0, 1, "-6") && lab.Ping(1, 0, "-6"), TimeSpan.FromSeconds(15)),
            "ping -6 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        Assert.True(Eventually(() => lab.Ping(0, 1, "-4") && lab.Ping(1, 0, "-4"), TimeSpan.FromSeconds(15)),
            "ping -4 pod1 <-> pod2 failed\n" + lab.Log(0) + "\n" + lab.Log(1));
        Assert.Contains("FLANNEL_MTU=1500\n", File.ReadAllText(lab.SubnetFile(0)), StringComparison.Ordinal);
    }
}
