using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Twill.Netlink;

// Programs N vxlan peers (route via onlink gateway + permanent neighbour + FDB entry each) in a
// fresh namespace with Twill.Netlink, deletes them, then does the same with `ip -batch -` and
// `bridge -batch -` in another fresh namespace; alternates for a few rounds and keeps medians.

int peers = args.Contains("--quick") ? 1000 : 5000;
int rounds = 3;
string prefix = ArgValue(args, "--prefix") ?? $"twb-{Environment.ProcessId}";
CultureInfo ci = CultureInfo.InvariantCulture;
Peer[] plan = [.. Enumerable.Range(0, peers).Select(Peer.Of)];

List<double> twillAdd = [], twillDel = [], ipAdd = [], ipDel = [];
List<string> created = [];
try
{
    for (int round = 0; round < rounds; round++)
    {
        (double add, double del) t = RunTwill($"{prefix}-t{round}", plan, created);
        (double add, double del) i = RunIpBatch($"{prefix}-i{round}", plan, created);
        twillAdd.Add(t.add);
        twillDel.Add(t.del);
        ipAdd.Add(i.add);
        ipDel.Add(i.del);
        Console.WriteLine(string.Format(ci, "round {0}: twill add {1,8:F1} ms del {2,8:F1} ms | ip-batch add {3,8:F1} ms del {4,8:F1} ms",
            round + 1, t.add, t.del, i.add, i.del));
    }
}
finally
{
    foreach (string ns in created)
    {
        NetNs.Delete(ns);
    }
}

double ta = Median(twillAdd), td = Median(twillDel), ia = Median(ipAdd), id = Median(ipDel);
Console.WriteLine();
Console.WriteLine(string.Format(ci, "{0} peers = {1} objects (route onlink + permanent neighbour + FDB each), median of {2} rounds", peers, 3 * peers, rounds));
Console.WriteLine(string.Format(ci, "{0,-22} {1,12} {2,12}", "", "program_ms", "delete_ms"));
Console.WriteLine(string.Format(ci, "{0,-22} {1,12:F1} {2,12:F1}", "Twill.Netlink batch", ta, td));
Console.WriteLine(string.Format(ci, "{0,-22} {1,12:F1} {2,12:F1}", "ip -batch + bridge", ia, id));
Console.WriteLine(string.Format(ci, "{0,-22} {1,12:F2} {2,12:F2}", "ratio twill/ip", ta / ia, td / id));
Console.WriteLine(string.Format(ci, "BENCH netlink ratio={0:F2} del_ratio={1:F2} twill_ms={2:F1} ipbatch_ms={3:F1}", ta / ia, td / id, ta, ia));
return 0;

static (double Add, double Del) RunTwill(string name, Peer[] plan, List<string> created)
{
    created.Add(name);
    using NetNs ns = NetNs.Create(name);
    using RtnlConnection rtnl = RtnlConnection.Open(ns);
    int vx = Underlay(rtnl);

    Stopwatch sw = Stopwatch.StartNew();
    RtnlBatch batch = rtnl.CreateBatch();
    if (Environment.GetEnvironmentVariable("BENCH_BREAKDOWN") is not null)
    {
        // Diagnostic: one batch per object kind, to see where the kernel spends the time.
        Queue(batch, plan, vx, routes: true, neighbours: false, fdb: false);
        double routes = sw.Elapsed.TotalMilliseconds;
        Queue(batch, plan, vx, routes: false, neighbours: true, fdb: false);
        double neighbours = sw.Elapsed.TotalMilliseconds - routes;
        Queue(batch, plan, vx, routes: false, neighbours: false, fdb: true);
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  twill breakdown: routes {0:F1} ms, neighbours {1:F1} ms, fdb {2:F1} ms",
            routes, neighbours, sw.Elapsed.TotalMilliseconds - routes - neighbours));
    }
    else
    {
        Queue(batch, plan, vx, routes: true, neighbours: true, fdb: true);
    }
    double add = sw.Elapsed.TotalMilliseconds;
    Verify(rtnl, vx, plan.Length, name);

    sw.Restart();
    foreach (Peer p in plan)
    {
        batch.DeleteRoute(p.Route(vx));
        batch.DeleteNeighbour(p.Neighbour(vx));
        batch.DeleteFdb(new FdbEntry(vx, p.Mac) { Destination = p.Underlay });
    }
    batch.Execute().ThrowIfFailed();
    double del = sw.Elapsed.TotalMilliseconds;
    Verify(rtnl, vx, 0, name);
    return (add, del);
}

static (double Add, double Del) RunIpBatch(string name, Peer[] plan, List<string> created)
{
    created.Add(name);
    int vx;
    using (NetNs ns = NetNs.Create(name))
    using (RtnlConnection setup = RtnlConnection.Open(ns))
    {
        vx = Underlay(setup);
    }
    StringBuilder ip = new(), bridge = new();
    foreach (Peer p in plan)
    {
        ip.Append(CultureInfo.InvariantCulture, $"route replace {p.Subnet} via {p.Gateway} dev vx0 onlink\n");
        ip.Append(CultureInfo.InvariantCulture, $"neigh replace {p.Gateway} lladdr {p.MacText} dev vx0 nud permanent\n");
        bridge.Append(CultureInfo.InvariantCulture, $"fdb append {p.MacText} dev vx0 dst {p.Underlay} self permanent\n");
    }
    Stopwatch sw = Stopwatch.StartNew();
    Batch("ip", name, ip.ToString());
    Batch("bridge", name, bridge.ToString());
    double add = sw.Elapsed.TotalMilliseconds;
    using (NetNs ns = NetNs.Open(name))
    using (RtnlConnection check = RtnlConnection.Open(ns))
    {
        Verify(check, vx, plan.Length, name);
    }

    ip.Clear();
    bridge.Clear();
    foreach (Peer p in plan)
    {
        ip.Append(CultureInfo.InvariantCulture, $"route del {p.Subnet} via {p.Gateway} dev vx0 onlink\n");
        ip.Append(CultureInfo.InvariantCulture, $"neigh del {p.Gateway} dev vx0\n");
        bridge.Append(CultureInfo.InvariantCulture, $"fdb del {p.MacText} dev vx0 dst {p.Underlay} self\n");
    }
    sw.Restart();
    Batch("ip", name, ip.ToString());
    Batch("bridge", name, bridge.ToString());
    double del = sw.Elapsed.TotalMilliseconds;
    using (NetNs ns = NetNs.Open(name))
    using (RtnlConnection check = RtnlConnection.Open(ns))
    {
        Verify(check, vx, 0, name);
    }
    return (add, del);
}

static void Queue(RtnlBatch batch, Peer[] plan, int vx, bool routes, bool neighbours, bool fdb)
{
    foreach (Peer p in plan)
    {
        if (routes)
        {
            batch.ReplaceRoute(p.Route(vx));
        }
        if (neighbours)
        {
            batch.ReplaceNeighbour(p.Neighbour(vx));
        }
        if (fdb)
        {
            batch.AppendFdb(vx, p.Mac, p.Underlay);
        }
    }
    batch.Execute().ThrowIfFailed();
}

// Underlay veth 192.0.2.1/24 (this kernel has no dummy driver) and vxlan VNI 4096, dstport 4789, nolearning.
static int Underlay(RtnlConnection rtnl)
{
    Link ul = rtnl.AddVeth("ul0", "ul1");
    rtnl.AddAddress(ul.Index, IPAddress.Parse("192.0.2.1"), 24);
    rtnl.SetLinkUp(ul.Index);
    rtnl.SetLinkUp(rtnl.GetLink("ul1").Index);
    Link vx = rtnl.AddVxlan(new VxlanSpec
    {
        Name = "vx0",
        Vni = 4096,
        Local = IPAddress.Parse("192.0.2.1"),
        UnderlayIndex = ul.Index,
        Port = 4789,
        Learning = false,
    });
    rtnl.SetLinkUp(vx.Index);
    return vx.Index;
}

static void Verify(RtnlConnection rtnl, int vx, int expected, string ns)
{
    int routes = rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main).Count(r => r.OutputIndex == vx && r.OnLink);
    int neighbours = rtnl.DumpNeighbours(AddressFamily.InterNetwork, vx).Count(n => n.State == NeighbourState.Permanent);
    int fdb = rtnl.DumpFdb(vx).Count(e => e.Destination is not null);
    if (routes != expected || neighbours != expected || fdb != expected)
    {
        throw new InvalidOperationException($"{ns}: expected {expected} of each, found {routes} routes, {neighbours} neighbours, {fdb} fdb entries");
    }
}

static void Batch(string tool, string ns, string commands)
{
    ProcessStartInfo psi = new(tool) { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (string a in new[] { "-n", ns, "-batch", "-" })
    {
        psi.ArgumentList.Add(a);
    }
    using Process p = Process.Start(psi)!;
    p.StandardInput.Write(commands);
    p.StandardInput.Close();
    string err = p.StandardError.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{tool} -batch exited {p.ExitCode}: {err}");
    }
}

static double Median(List<double> values)
{
    double[] sorted = [.. values.Order()];
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static string? ArgValue(string[] args, string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

/// <summary>One remote node: its pod subnet 10.X.Y.0/24, its vxlan MAC and its underlay address.</summary>
internal sealed record Peer(IPAddress Gateway, PhysicalAddress Mac, IPAddress Underlay)
{
    private static readonly byte[][] Underlays = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];

    public static Peer Of(int i)
    {
        byte x = (byte)(1 + i / 256), y = (byte)(i % 256);
        byte[] u = Underlays[i % 3];
        return new Peer(new IPAddress([10, x, y, 0]), new PhysicalAddress([0x02, 0x42, 10, x, y, 0]),
            new IPAddress([u[0], u[1], u[2], (byte)(2 + (i / 3) % 250)]));
    }

    public IPNetwork Subnet => new(Gateway, 24);

    public string MacText => string.Join(':', Mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    public Route Route(int vx) => new(Subnet) { Gateway = Gateway, OutputIndex = vx, OnLink = true };

    public Neighbour Neighbour(int vx) => new(vx, Gateway, Mac);
}
