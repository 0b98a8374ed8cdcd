using System.Net;
using System.Net.Sockets;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>One node as <c>twill lab status</c> sees it.</summary>
public sealed record NodeStatus(string Node, string Address, string Subnet, string Agent, string Health, string Kernel);

/// <summary>
/// <c>twill lab status</c>: per node, the lease it holds (its subnet.env), whether its agent runs and
/// answers /healthz, and the kernel objects the pod network put there.
/// </summary>
public static class LabStatus
{
    public static IReadOnlyList<NodeStatus> Collect(LabState state, LabPaths paths)
    {
        List<NodeStatus> rows = [];
        foreach (LabNodeState node in state.Nodes)
        {
            string subnet = "-";
            try
            {
                if (File.Exists(paths.SubnetEnv(node.Name)) && SubnetEnv.Read(paths.SubnetEnv(node.Name)).Subnet is { } s)
                {
                    subnet = s.ToString();
                }
            }
            catch (FormatException e)
            {
                subnet = "unreadable: " + e.Message;
            }
            LabProcess? agent = state.Processes.FirstOrDefault(p => p.Role == "agent " + node.Name);
            string agentText = agent is null ? "not started" : LabProcesses.IsAlive(agent) ? $"running (PID {agent.Pid})" : $"exited (PID {agent.Pid})";
            string health = "-";
            string kernel = "-";
            if (NetNs.Exists(node.Namespace))
            {
                using NetNs ns = NetNs.Open(node.Namespace);
                health = node.HealthzPort is int port ? Healthz(ns, port) : "-";
                kernel = Kernel(ns);
            }
            rows.Add(new NodeStatus(node.Name, node.Address, subnet, agentText, health, kernel));
        }
        return rows;
    }

    private static string Healthz(NetNs ns, int port)
    {
        try
        {
            using Socket s = ns.Run(static () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            s.ReceiveTimeout = 1000;
            s.SendTimeout = 1000;
            IAsyncResult connect = s.BeginConnect(new IPEndPoint(IPAddress.Loopback, port), null, null);
            if (!connect.AsyncWaitHandle.WaitOne(1000))
            {
                return "no answer";
            }
            s.EndConnect(connect);
            s.Send("GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n"u8);
            byte[] buffer = new byte[512];
            int n = s.Receive(buffer);
            string head = System.Text.Encoding.ASCII.GetString(buffer, 0, n);
            string status = head.Split('\n')[0].Trim();
            return status.Contains(" 200", StringComparison.Ordinal) ? "ok" : status;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.ConnectionRefused ? "refused" : e.SocketErrorCode.ToString();
        }
    }

    // The pod network's footprint on the node: its devices, routes to the pod network, neighbours, FDB entries.
    private static string Kernel(NetNs ns)
    {
        using RtnlConnection rtnl = RtnlConnection.Open(ns);
        IReadOnlyList<Link> links = rtnl.DumpLinks();
        string devices = string.Join(" ", links
            .Where(l => l.Kind is "vxlan" or "bridge")
            .Select(l => $"{l.Name}({l.Kind}{(l.IsUp ? "" : ",down")})"));
        int vethPorts = links.Count(l => l.Kind == "veth" && l.MasterIndex != 0);
        IReadOnlyList<Route> routes = rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main);
        int podRoutes = routes.Count(r => r.Gateway is not null && r.Destination.PrefixLength is > 0 and < 32);
        int fdb = links.Where(l => l.Kind == "vxlan").Sum(l => rtnl.DumpFdb(l.Index).Count(f => f.Destination is not null));
        return $"{(devices.Length == 0 ? "no devices" : devices)}; {vethPorts} pod ports; {podRoutes} peer routes; {fdb} fdb";
    }
}
