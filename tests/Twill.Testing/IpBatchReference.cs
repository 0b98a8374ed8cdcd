using System.Diagnostics;
using System.Text;

namespace Twill.Testing;

/// <summary>
/// The benchmarks' reference: what iproute2's batch mode takes to program the vxlan objects of
/// <paramref name="peers"/> (neighbour, onlink route with protocol 84, FDB entry) on an existing
/// <c>flannel.1</c>, the fastest a program can do with the same kernel calls.
/// </summary>
public static class IpBatchReference
{
    /// <summary>Milliseconds for <c>bridge -batch</c> then <c>ip -batch</c> in <paramref name="ns"/>.</summary>
    public static double ProgramVxlanPeers(TestNetns ns, IEnumerable<(string Subnet, string Gateway, string Mac, string PublicIP)> peers)
    {
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentNullException.ThrowIfNull(peers);
        StringBuilder ip = new(), bridge = new();
        foreach ((string subnet, string gw, string mac, string pub) in peers)
        {
            ip.Append($"neigh replace {gw} lladdr {mac} dev flannel.1 nud permanent\n");
            ip.Append($"route replace {subnet} via {gw} dev flannel.1 onlink proto 84\n");
            bridge.Append($"fdb replace {mac} dev flannel.1 dst {pub} self permanent\n");
        }
        string ipFile = Path.GetTempFileName(), brFile = Path.GetTempFileName();
        File.WriteAllText(ipFile, ip.ToString());
        File.WriteAllText(brFile, bridge.ToString());
        try
        {
            Stopwatch sw = Stopwatch.StartNew();
            ns.Exec("bridge", "-batch", brFile).EnsureSuccess("bridge -batch");
            ns.Exec("ip", "-batch", ipFile).EnsureSuccess("ip -batch");
            return sw.Elapsed.TotalMilliseconds;
        }
        finally
        {
            File.Delete(ipFile);
            File.Delete(brFile);
        }
    }
}
