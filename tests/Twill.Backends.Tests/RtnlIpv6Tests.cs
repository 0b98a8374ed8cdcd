using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Twill.Netlink;
using Twill.Testing;

namespace Twill.Backends.Tests;

/// <summary>
/// The IPv6 data path against the real kernel, and the two families side by side: each family's port
/// reads and changes only its own objects. iproute2 (<c>ip -j -6</c>, <c>bridge -j</c>) is the oracle.
/// </summary>
public sealed class RtnlIpv6Tests : IDisposable
{
    private const string Dev6 = "flannel-v6.4096";
    private const string Dev4 = "flannel.4096";
    private readonly UnderlayNamespace? _node = UnderlayNamespace.CreateIfRoot("ipv6");

    private static readonly PeerLease Peer2 = Leases6.Lease(2, "2001:db8::12", "0a:00:00:00:06:02");
    private static readonly PeerLease Peer3 = Leases6.Lease(3, "2001:db8::13", "0a:00:00:00:06:03");
    private static readonly PeerLease Peer2v4 = Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02");

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public RtnlIpv6Tests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
    }

    public void Dispose() => _node?.Dispose();

    private Underlay Eth0V6 => new(_node!.Rtnl.GetLink("eth0").Index, "eth0", 1500, IPAddress.Parse("2001:db8::11"), IPNetwork.Parse("2001:db8::/64"));

    private Underlay Eth0V4 => new(_node!.Rtnl.GetLink("eth0").Index, "eth0", 1500, IPAddress.Parse("192.0.2.11"), IPNetwork.Parse("192.0.2.0/24"));

    private KernelPlan Plan6(params PeerLease[] peers) =>
        VxlanBackend.Plan(Leases.Vxlan, Leases6.Own, peers, Eth0V6, Leases.Mac("0a:00:00:00:06:01"));

    private KernelPlan Plan4(params PeerLease[] peers) =>
        VxlanBackend.Plan(Leases.Vxlan, Leases.Own, peers, Eth0V4, Leases.Mac("0a:00:00:00:00:01"));

    private Reconciler V6 => new(new RtnlKernelPort(_node!.Rtnl, AddressFamily.InterNetworkV6));

    private Reconciler V4 => new(new RtnlKernelPort(_node!.Rtnl, AddressFamily.InterNetwork));

    private string[] Routes(string family) => [.. _node!.Ns.IpJson(family, "route", "show", "proto", "84").EnumerateArray()
        .Select(r => $"{r.GetProperty("dst").GetString()} via {r.GetProperty("gateway").GetString()} dev {r.GetProperty("dev").GetString()}"
            + (r.TryGetProperty("flags", out JsonElement f) && f.EnumerateArray().Any(x => x.GetString() == "onlink") ? " onlink" : ""))
        .Order(StringComparer.Ordinal)];

    private string[] Neighbours(string family, string dev) => [.. _node!.Ns.IpJson(family, "neigh", "show", "dev", dev).EnumerateArray()
        .Select(n => $"{n.GetProperty("dst").GetString()} {n.GetProperty("lladdr").GetString()} {string.Join(',', n.GetProperty("state").EnumerateArray().Select(s => s.GetString()))}")
        .Order(StringComparer.Ordinal)];

    private string[] Fdb(string dev)
    {
        string json = _node!.Ns.Exec("bridge", "-j", "fdb", "show", "dev", dev).EnsureSuccess("bridge fdb").Stdout;
        using JsonDocument doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "[]" : json);
        return [.. doc.RootElement.EnumerateArray().Where(e => e.TryGetProperty("dst", out _))
            .Select(e => $"{e.GetProperty("mac").GetString()} {e.GetProperty("dst").GetString()}").Order(StringComparer.Ordinal)];
    }

    private string[] Addresses6(string dev) => [.. _node!.Ns.IpJson("-6", "addr", "show", "dev", dev).EnumerateArray()
        .SelectMany(l => l.GetProperty("addr_info").EnumerateArray())
        .Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()} {a.GetProperty("scope").GetString()}")
        .Order(StringComparer.Ordinal)];

    [RootFact]
    public void Reconcile_V6Plan_FlannelV6DeviceNdpEntriesFdbAndRoutes()
    {
        ReconcileResult result = V6.Reconcile(Plan6(Peer2, Peer3));

        Assert.True(result.Converged, string.Join("; ", result.Errors));
        JsonElement dev = _node!.Ns.IpJson("-d", "link", "show", Dev6)[0];
        JsonElement vxlan = dev.GetProperty("linkinfo").GetProperty("info_data");
        Assert.Equal(4096, vxlan.GetProperty("id").GetInt32());
        Assert.Equal("2001:db8::11", vxlan.GetProperty("local6").GetString());
        Assert.Equal(4789, vxlan.GetProperty("port").GetInt32());
        Assert.False(vxlan.GetProperty("learning").GetBoolean());
        Assert.Equal(1430, dev.GetProperty("mtu").GetInt32());
        Assert.Equal("0a:00:00:00:06:01", dev.GetProperty("address").GetString());
        Assert.Contains("fd00:10:244:1::/128 global", Addresses6(Dev6));
        Assert.Equal(
            ["fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.4096 onlink", "fd00:10:244:3::/64 via fd00:10:244:3:: dev flannel-v6.4096 onlink"],
            Routes("-6"));
        Assert.Equal(["fd00:10:244:2:: 0a:00:00:00:06:02 PERMANENT", "fd00:10:244:3:: 0a:00:00:00:06:03 PERMANENT"], Neighbours("-6", Dev6));
        Assert.Equal(["0a:00:00:00:06:02 2001:db8::12", "0a:00:00:00:06:03 2001:db8::13"], Fdb(Dev6));
        Assert.Empty(Routes("-4"));
    }

    [RootFact]
    public void Reconcile_V6SecondPass_NothingToDoAndLinkLocalKept()
    {
        Reconciler reconciler = V6;
        reconciler.Reconcile(Plan6(Peer2));
        _node!.Ns.Ip("link", "set", Dev6, "up");
        // The kernel adds an fe80:: address to the device; it is not Twill's and must survive passes.
        string[] before = Addresses6(Dev6);

        ReconcileResult second = reconciler.Reconcile(Plan6(Peer2));

        Assert.True(second.Converged, string.Join("; ", second.Errors));
        Assert.Equal(0, second.Applied);
        Assert.Contains(before, a => a.StartsWith("fe80:", StringComparison.Ordinal));
        Assert.Equal(before, Addresses6(Dev6));
    }

    [RootFact]
    public void Reconcile_V4AndV6SideBySide_NeitherRemovesTheOthersObjects()
    {
        Reconciler v4 = V4;
        Reconciler v6 = V6;
        Assert.True(v4.Reconcile(Plan4(Peer2v4)).Converged);
        Assert.True(v6.Reconcile(Plan6(Peer2, Peer3)).Converged);

        // Each family's peer set shrinks to nothing in turn; the other's objects stay.
        ReconcileResult v4Empty = v4.Reconcile(Plan4());
        string[] v6Routes = Routes("-6");
        string[] v6Neighbours = Neighbours("-6", Dev6);
        string[] v6Fdb = Fdb(Dev6);
        ReconcileResult v6Empty = v6.Reconcile(Plan6());

        Assert.True(v4Empty.Converged, string.Join("; ", v4Empty.Errors));
        Assert.Empty(v4Empty.Errors);
        Assert.Equal(2, v6Routes.Length);
        Assert.Equal(2, v6Neighbours.Length);
        Assert.Equal(2, v6Fdb.Length);
        Assert.True(v6Empty.Converged, string.Join("; ", v6Empty.Errors));
        Assert.Empty(Routes("-6"));
        Assert.Empty(Routes("-4"));
        // Both devices are still there: neither port counts the other's device as a stale one of its own.
        Assert.Single(_node!.Ns.IpJson("link", "show", Dev4).EnumerateArray());
        Assert.Single(_node!.Ns.IpJson("link", "show", Dev6).EnumerateArray());
        Assert.Contains("fd00:10:244:1::/128 global", Addresses6(Dev6));
    }

    [RootFact]
    public void Reconcile_V6ObjectsPresent_V4PassChangesNothingOfThem()
    {
        Assert.True(V6.Reconcile(Plan6(Peer2)).Converged);
        string[] routes6 = Routes("-6");
        Reconciler v4 = V4;
        v4.Reconcile(Plan4(Peer2v4));

        ReconcileResult again = v4.Reconcile(Plan4(Peer2v4));

        Assert.Equal(0, again.Applied);
        Assert.Equal(routes6, Routes("-6"));
        Assert.Equal(["10.244.2.0/24 via 10.244.2.0 dev flannel.4096 onlink"], Routes("-4"));
        Assert.Equal(["fd00:10:244:2:: 0a:00:00:00:06:02 PERMANENT"], Neighbours("-6", Dev6));
        Assert.Equal(["10.244.2.0 0a:00:00:00:00:02 PERMANENT"], Neighbours("-4", Dev4));
    }

    [RootFact]
    public void Reconcile_V6ObjectsDeletedByHand_RestoredByV6PassOnly()
    {
        Reconciler v4 = V4;
        Reconciler v6 = V6;
        v4.Reconcile(Plan4(Peer2v4));
        v6.Reconcile(Plan6(Peer2));
        _node!.Ns.Ip("-6", "route", "del", "fd00:10:244:2::/64");
        _node!.Ns.Ip("-6", "neigh", "del", "fd00:10:244:2::", "dev", Dev6);
        _node!.Ns.Exec("bridge", "fdb", "del", "0a:00:00:00:06:02", "dev", Dev6, "dst", "2001:db8::12").EnsureSuccess("bridge fdb del");

        ReconcileResult v4Pass = v4.Reconcile(Plan4(Peer2v4));
        ReconcileResult v6Pass = v6.Reconcile(Plan6(Peer2));

        Assert.Equal(0, v4Pass.Applied);
        Assert.Equal(3, v6Pass.DriftRepairs);
        Assert.Equal(["fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.4096 onlink"], Routes("-6"));
        Assert.Equal(["fd00:10:244:2:: 0a:00:00:00:06:02 PERMANENT"], Neighbours("-6", Dev6));
        Assert.Equal(["0a:00:00:00:06:02 2001:db8::12"], Fdb(Dev6));
    }

    [RootFact]
    public void Reconcile_HostGwV6_RouteViaPeerPublicIpv6AndV4PassLeavesIt()
    {
        PeerLease own = Leases6.Lease(1, "2001:db8::11", type: "host-gw");
        KernelPlan plan6 = HostGwBackend.Plan(Leases.HostGw, own, [Leases6.Lease(2, "2001:db8::12", type: "host-gw")], Eth0V6);
        KernelPlan plan4 = HostGwBackend.Plan(Leases.HostGw, Leases.Lease(1, "192.0.2.11", type: "host-gw"),
            [Leases.Lease(2, "192.0.2.12", type: "host-gw")], Eth0V4);
        Reconciler v4 = V4;

        ReconcileResult r6 = V6.Reconcile(plan6);
        ReconcileResult r4 = v4.Reconcile(plan4);
        ReconcileResult r4Empty = v4.Reconcile(plan4 with { Routes = [] });

        Assert.True(r6.Converged, string.Join("; ", r6.Errors));
        Assert.True(r4.Converged, string.Join("; ", r4.Errors));
        Assert.True(r4Empty.Converged, string.Join("; ", r4Empty.Errors));
        Assert.Equal(["fd00:10:244:2::/64 via 2001:db8::12 dev eth0"], Routes("-6"));
        Assert.Empty(Routes("-4"));
    }

    [RootFact]
    public void Reconcile_1000PeersEachFamily_AllProgrammedAndTimed()
    {
        PeerLease[] peers6 = [.. Enumerable.Range(2, 1000).Select(n => new PeerLease
        {
            Key = $"fd00:10:{n:x}::-64",
            Subnet = IPNetwork.Parse($"fd00:10:{n:x}::/64"),
            PublicIP = IPAddress.Parse($"2001:db8::1:{n:x}"),
            Vni = 4096,
            VtepMac = Leases.Mac($"0a:00:00:06:{n >> 8:x2}:{n & 0xff:x2}"),
        })];
        PeerLease own6 = Leases6.Own with { Subnet = IPNetwork.Parse("fd00:10:1::/64"), Key = "fd00:10:1::-64" };
        PeerLease[] peers4 = [.. Enumerable.Range(2, 1000).Select(n => new PeerLease
        {
            Key = $"10.{n >> 8}.{n & 0xff}.0-24",
            Subnet = IPNetwork.Parse($"10.{n >> 8}.{n & 0xff}.0/24"),
            PublicIP = IPAddress.Parse($"192.0.2.{(n % 200) + 20}"),
            Vni = 4096,
            VtepMac = Leases.Mac($"0a:00:00:04:{n >> 8:x2}:{n & 0xff:x2}"),
        })];
        PeerLease own4 = Leases.Own with { Subnet = IPNetwork.Parse("10.0.1.0/24"), Key = "10.0.1.0-24" };

        ReconcileResult r6 = V6.Reconcile(VxlanBackend.Plan(Leases.Vxlan, own6, peers6, Eth0V6, Leases.Mac("0a:00:00:00:06:01")));
        ReconcileResult r4 = V4.Reconcile(VxlanBackend.Plan(Leases.Vxlan, own4, peers4, Eth0V4, Leases.Mac("0a:00:00:00:00:01")));
        _output.WriteLine($"1000 peers: IPv6 {r6.Duration.TotalMilliseconds:F0} ms ({r6.Applied} changes), IPv4 {r4.Duration.TotalMilliseconds:F0} ms ({r4.Applied} changes)");

        Assert.True(r6.Converged, string.Join("; ", r6.Errors.Take(3)));
        Assert.True(r4.Converged, string.Join("; ", r4.Errors.Take(3)));
        Assert.Equal(1000, Routes("-6").Length);
        Assert.Equal(1000, Routes("-4").Length);
        Assert.Equal(1000, Neighbours("-6", Dev6).Length);
        Assert.Equal(1000, Fdb(Dev6).Length);
    }

    [RootFact]
    public void Apply_V6ObjectOnV4Port_RefusedNamingTheFamily()
    {
        RtnlKernelPort port = new(_node!.Rtnl, AddressFamily.InterNetwork);
        port.Read(null);

        IReadOnlyList<KernelFailure?> results = port.Apply(
            [new KernelChange.PutRoute(new PlannedRoute(IPNetwork.Parse("fd00:10:244:2::/64"), IPAddress.Parse("2001:db8::12"), "eth0", false))]);

        KernelFailure failure = Assert.Single(results)!;
        Assert.Contains("is IPv6, this port handles IPv4", failure.Message, StringComparison.Ordinal);
        Assert.Null(failure.Errno);
        Assert.Empty(Routes("-6"));
    }

    [RootFact]
    public void Read_V6Port_SeesOnlyV6DeviceAndRoutes()
    {
        V4.Reconcile(Plan4(Peer2v4));
        V6.Reconcile(Plan6(Peer2));

        KernelState state = new RtnlKernelPort(_node!.Rtnl, AddressFamily.InterNetworkV6).Read(Dev6);

        Assert.Equal([Dev6], state.Devices.Select(d => d.Name));
        Assert.All(state.Routes, r => Assert.Equal(AddressFamily.InterNetworkV6, r.Destination.BaseAddress.AddressFamily));
        Assert.Equal([new PlannedAddress(Dev6, IPAddress.Parse("fd00:10:244:1::"), 128)], state.Addresses);
        Assert.Single(state.Neighbours);
        Assert.Single(state.Fdb);
    }
}
