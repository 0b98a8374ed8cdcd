using System.Globalization;
using System.Net;
using Twill.Testing;

namespace Twill.Agent.Tests.Tor;

/// <summary>
/// The L3 top-of-rack topology with real agents: <see cref="AgentLab"/>'s switch namespace becomes
/// the ToR (br0 192.0.2.1/24, forwarding on, every node's default gateway) running a real FRR
/// (<see cref="FrrRouter"/>, AS 65000, each node an explicit passive neighbour, timers 3/9), and
/// the agents run the bgp backend with the net-conf given. Pods reach each other only through the
/// ToR's BGP-learnt routes. Dispose stops the agents, FRR (by PID) and removes the namespaces.
/// </summary>
internal sealed class TorAgentLab : IDisposable
{
    public const uint TorAsn = 65000;
    public const uint NodeAsn = 64512;
    public static readonly IPAddress TorAddress = IPAddress.Parse("192.0.2.1");

    private readonly FrrRouter? _frr;

    /// <param name="backend">The Backend object's JSON (Type bgp).</param>
    /// <param name="torExtra">Lines added to the ToR's address-family ipv4 unicast block for every node (e.g. "as-override").</param>
    public TorAgentLab(string backend, int nodes, string? torPassword = null, IEnumerable<string>? torExtra = null, IEnumerable<string>? originate = null)
    {
        FrrRouter? frr = null;
        try
        {
            Lab = new AgentLab(NetConf(backend), nodes, beforeAgents: lab =>
            {
                lab.Switch.Ip("addr", "add", TorAddress + "/24", "dev", "br0");
                lab.Switch.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1").EnsureSuccess("sysctl");
                foreach (TestNetns node in lab.Nodes)
                {
                    node.Ip("route", "add", "default", "via", TorAddress.ToString());
                }
                frr = new FrrRouter(lab.Switch, BgpdConf(nodes, torPassword, torExtra ?? [], originate ?? []));
            });
            _frr = frr;
        }
        catch
        {
            frr?.Dispose();
            throw;
        }
    }

    public AgentLab Lab { get; }

    public FrrRouter Frr => _frr!;

    public static string NodeAddress(int i) => "192.0.2." + (11 + i).ToString(CultureInfo.InvariantCulture);

    public static string NetConf(string backend) => $$"""{"Network":"10.244.0.0/16","Backend":{{backend}}}""";

    /// <summary>Rewrites net-conf.json: the next agent start reads it.</summary>
    public void SetBackend(string backend) => File.WriteAllText(Path.Combine(Lab.Dir, "net-conf.json"), NetConf(backend));

    /// <summary>Node <paramref name="i"/>'s pod subnet as subnet.env names it ("10.244.3.0/24").</summary>
    public string Subnet(int i) => Twill.Core.SubnetEnv.Read(Lab.SubnetFile(i)).Subnet!.Value.Network.ToString();

    /// <summary>Whether the ToR's kernel routes node <paramref name="i"/>'s subnet via the node (proto bgp).</summary>
    public bool TorRoutesNode(int i) => Frr.HasBgpRoute(Subnet(i), IPAddress.Parse(NodeAddress(i)));

    /// <summary>FRR's view of the neighbour <paramref name="i"/> (`show bgp neighbors ADDRESS`).</summary>
    public string Neighbor(int i) => Frr.Vtysh("show bgp neighbors " + NodeAddress(i));

    /// <summary>Applies configuration lines under `router bgp` (vtysh `configure terminal`).</summary>
    public void ConfigureTor(params string[] lines)
    {
        List<string> args = ["-c", "configure terminal", "-c", $"router bgp {TorAsn}"];
        foreach (string line in lines)
        {
            args.Add("-c");
            args.Add(line);
        }
        Frr.VtyshAll(args);
    }

    /// <summary>Sends SIGKILL to agent <paramref name="i"/> (a crash: no Cease) and waits for it to go.</summary>
    public void KillAgent(int i)
    {
        System.Diagnostics.Process p = Lab.Agents[i] ?? throw new InvalidOperationException($"agent {i} not running");
        // nsenter exec()s the agent, so the process is the agent itself.
        Tool.Run("kill", "-KILL", p.Id.ToString(CultureInfo.InvariantCulture));
        p.WaitForExit(10_000);
        p.Dispose();
        Lab.Agents[i] = null;
    }

    public string Diagnose() => string.Join("\n---\n", Enumerable.Range(0, Lab.Nodes.Count).Select(Lab.Log))
        + "\n--- ToR\n" + Frr.Vtysh("show bgp summary") + Frr.Vtysh("show bgp ipv4 unicast");

    private static string BgpdConf(int nodes, string? password, IEnumerable<string> extra, IEnumerable<string> originate)
    {
        System.Text.StringBuilder sb = new();
        sb.Append(CultureInfo.InvariantCulture, $"""
            hostname tor
            router bgp {TorAsn}
             bgp router-id {TorAddress}
             no bgp ebgp-requires-policy
             no bgp default ipv4-unicast
             no bgp network import-check
             bgp bestpath as-path multipath-relax

            """);
        for (int i = 0; i < nodes; i++)
        {
            string n = NodeAddress(i);
            sb.Append(CultureInfo.InvariantCulture, $" neighbor {n} remote-as external\n neighbor {n} passive\n neighbor {n} timers 3 9\n neighbor {n} timers connect 1\n");
            if (password is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $" neighbor {n} password {password}\n");
            }
        }
        sb.Append(" address-family ipv4 unicast\n");
        for (int i = 0; i < nodes; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  neighbor {NodeAddress(i)} activate\n");
            foreach (string line in extra)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  neighbor {NodeAddress(i)} {line}\n");
            }
        }
        foreach (string prefix in originate)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  network {prefix}\n");
        }
        sb.Append("  maximum-paths 16\n exit-address-family\n");
        return sb.ToString();
    }

    public void Dispose()
    {
        try
        {
            Lab.Dispose();
        }
        finally
        {
            _frr?.Dispose();
        }
    }
}
