using System.Net;
using System.Text.Json;
using Twill.Netlink;
using Twill.Testing;

namespace Twill.Backends.Tests;

/// <summary>The reconciler against the real kernel, in a throw-away namespace; iproute2 is the oracle.</summary>
public sealed class RtnlReconcilerTests : IDisposable
{
    private readonly UnderlayNamespace? _node = UnderlayNamespace.CreateIfRoot("recon");

    private static readonly PeerLease Peer2 = Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02");
    private static readonly PeerLease Peer3 = Leases.Lease(3, "198.51.100.13", "0a:00:00:00:00:03");

    public void Dispose() => _node?.Dispose();

    private Underlay Eth0
    {
        get
        {
            Link link = _node!.Rtnl.GetLink("eth0");
            return new Underlay(link.Index, "eth0", link.Mtu, IPAddress.Parse("192.0.2.11"), IPNetwork.Parse("192.0.2.0/24"));
        }
    }

    private KernelPlan Plan(BackendSettings? settings = null, params PeerLease[] peers) =>
        VxlanBackend.Plan(settings ?? Leases.Vxlan, Leases.Own, peers, Eth0, Leases.Mac("0a:00:00:00:00:01"));

    private string[] Routes() => [.. _node!.Ns.IpJson("route", "show", "proto", "84").EnumerateArray()
        .Select(r => $"{r.GetProperty("dst").GetString()} via {r.GetProperty("gateway").GetString()} dev {r.GetProperty("dev").GetString()}"
            + (r.TryGetProperty("flags", out JsonElement f) && f.EnumerateArray().Any(x => x.GetString() == "onlink") ? " onlink" : ""))
        .Order(StringComparer.Ordinal)];

    private string[] Neighbours() => [.. _node!.Ns.IpJson("neigh", "show", "dev", "flannel.4096").EnumerateArray()
        .Select(n => $"{n.GetProperty("dst").GetString()} {n.GetProperty("lladdr").GetString()} {string.Join(',', n.GetProperty("state").EnumerateArray().Select(s => s.GetString()))}")
        .Order(StringComparer.Ordinal)];

    private string[] Fdb()
    {
        string json = _node!.Ns.Exec("bridge", "-j", "fdb", "show", "dev", "flannel.4096").EnsureSuccess("bridge fdb").Stdout;
        using JsonDocument doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "[]" : json);
        return [.. doc.RootElement.EnumerateArray().Where(e => e.TryGetProperty("dst", out _))
            .Select(e => $"{e.GetProperty("mac").GetString()} {e.GetProperty("dst").GetString()}").Order(StringComparer.Ordinal)];
    }

    private JsonElement Device() => _node!.Ns.IpJson("-d", "link", "show", "flannel.4096")[0];

    [RootFact]
    public void Reconcile_LearningOn_DeviceLearnsAndSwitchingBackRecreates()
    {
        Reconciler reconciler = new(new RtnlKernelPort(_node!.Rtnl));

        ReconcileResult on = reconciler.Reconcile(Plan(Leases.Vxlan with { Learning = true }, Peer2));
        bool learningOn = Device().GetProperty("linkinfo").GetProperty("info_data").GetProperty("learning").GetBoolean();
        ReconcileResult off = reconciler.Reconcile(Plan(null, Peer2));

        Assert.True(on.Converged, string.Join("; ", on.Errors));
        Assert.True(learningOn);
        Assert.True(off.Converged, string.Join("; ", off.Errors));
        Assert.Equal(DeviceAction.Recreate, off.DeviceAction);
        Assert.False(Device().GetProperty("linkinfo").GetProperty("info_data").GetProperty("learning").GetBoolean());
    }

    [RootFact]
    public void Reconcile_FreshNamespace_ProgramsDeviceAndPeers()
    {
        ReconcileResult result = new Reconciler(new RtnlKernelPort(_node!.Rtnl)).Reconcile(Plan(null, Peer2, Peer3));

        Assert.True(result.Converged, string.Join("; ", result.Errors));
        JsonElement dev = Device();
        JsonElement vxlan = dev.GetProperty("linkinfo").GetProperty("info_data");
        Assert.Equal(4096, vxlan.GetProperty("id").GetInt32());
        Assert.Equal(4789, vxlan.GetProperty("port").GetInt32());
        Assert.Equal("192.0.2.11", vxlan.GetProperty("local").GetString());
        Assert.False(vxlan.GetProperty("learning").GetBoolean());
        Assert.Equal(1450, dev.GetProperty("mtu").GetInt32());
        Assert.Equal("0a:00:00:00:00:01", dev.GetProperty("address").GetString());
        Assert.Contains("UP", dev.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(["10.244.2.0/24 via 10.244.2.0 dev flannel.4096 onlink", "10.244.3.0/24 via 10.244.3.0 dev flannel.4096 onlink"], Routes());
        Assert.Equal(["10.244.2.0 0a:00:00:00:00:02 PERMANENT", "10.244.3.0 0a:00:00:00:00:03 PERMANENT"], Neighbours());
        Assert.Equal(["0a:00:00:00:00:02 192.0.2.12", "0a:00:00:00:00:03 198.51.100.13"], Fdb());
        Assert.Contains("10.244.1.0/32", _node!.Ns.Ip("-4", "addr", "show", "dev", "flannel.4096"), StringComparison.Ordinal);
        Assert.Equal(Leases.Mac("0a:00:00:00:00:01"), result.DeviceMac);
    }

    [RootFact]
    public void Reconcile_ObjectsDeletedByHand_Restored()
    {
        Reconciler reconciler = new(new RtnlKernelPort(_node!.Rtnl));
        reconciler.Reconcile(Plan(null, Peer2, Peer3));
        _node!.Ns.Ip("route", "del", "10.244.2.0/24");
        _node!.Ns.Ip("neigh", "del", "10.244.3.0", "dev", "flannel.4096");
        _node!.Ns.Exec("bridge", "fdb", "del", "0a:00:00:00:00:02", "dev", "flannel.4096", "dst", "192.0.2.12", "self").EnsureSuccess("bridge fdb del");

        ReconcileResult result = reconciler.Reconcile(Plan(null, Peer2, Peer3));

        Assert.True(result.Converged, string.Join("; ", result.Errors));
        Assert.Equal(3, result.DriftRepairs);
        Assert.Equal(2, Routes().Length);
        Assert.Equal(2, Neighbours().Length);
        Assert.Equal(2, Fdb().Length);
    }

    [RootFact]
    public void Reconcile_DeviceDeleted_RestoredWithAllPeers()
    {
        Reconciler reconciler = new(new RtnlKernelPort(_node!.Rtnl));
        reconciler.Reconcile(Plan(null, Peer2, Peer3));
        _node!.Ns.Ip("link", "del", "flannel.4096");

        ReconcileResult result = reconciler.Reconcile(Plan(null, Peer2, Peer3));

        Assert.Equal(DeviceAction.Create, result.DeviceAction);
        Assert.True(result.Converged, string.Join("; ", result.Errors));
        Assert.Equal(2, Routes().Length);
        Assert.Equal(2, Neighbours().Length);
        Assert.Equal(2, Fdb().Length);
        Assert.Equal("0a:00:00:00:00:01", Device().GetProperty("address").GetString());
    }

    [RootFact]
    public void Reconcile_StalePeerAtStart_Removed()
    {
        new Reconciler(new RtnlKernelPort(_node!.Rtnl)).Reconcile(Plan(null, Peer2, Peer3));

        ReconcileResult result = new Reconciler(new RtnlKernelPort(_node!.Rtnl)).Reconcile(Plan(null, Peer2));

        Assert.True(result.Converged, string.Join("; ", result.Errors));
        Assert.Equal(["10.244.2.0/24 via 10.244.2.0 dev flannel.4096 onlink"], Routes());
        Assert.Equal(["10.244.2.0 0a:00:00:00:00:02 PERMANENT"], Neighbours());
        Assert.Equal(["0a:00:00:00:00:02 192.0.2.12"], Fdb());
    }

    [RootFact]
    public void Reconcile_MtuChanged_SameDeviceNewMtu_PortChanged_Recreated()
    {
        Reconciler reconciler = new(new RtnlKernelPort(_node!.Rtnl));
        reconciler.Reconcile(Plan(null, Peer2));
        int index = Device().GetProperty("ifindex").GetInt32();

        ReconcileResult mtu = reconciler.Reconcile(Plan(Leases.Vxlan with { Mtu = 1400 }, Peer2));
        Assert.Equal(DeviceAction.Update, mtu.DeviceAction);
        Assert.Equal(1400, Device().GetProperty("mtu").GetInt32());
        Assert.Equal(index, Device().GetProperty("ifindex").GetInt32());

        ReconcileResult port = reconciler.Reconcile(Plan(Leases.Vxlan with { Mtu = 1400, Port = 4790 }, Peer2));
        Assert.Equal(DeviceAction.Recreate, port.DeviceAction);
        Assert.True(port.Converged, string.Join("; ", port.Errors));
        Assert.Equal(4790, Device().GetProperty("linkinfo").GetProperty("info_data").GetProperty("port").GetInt32());
        Assert.Equal(["10.244.2.0/24 via 10.244.2.0 dev flannel.4096 onlink"], Routes());
        Assert.Single(Fdb());
    }

    [RootFact]
    public void Reconcile_HostGw_RoutesViaPeerOnUnderlayAndForeignRoutesUntouched()
    {
        _node!.Ns.Ip("route", "add", "10.9.0.0/16", "via", "192.0.2.1");
        KernelPlan plan = HostGwBackend.Plan(Leases.HostGw, Leases.Lease(1, "192.0.2.11", type: "host-gw"),
            [Leases.Lease(2, "192.0.2.12", type: "host-gw"), Leases.Lease(3, "192.0.2.13", type: "host-gw")], Eth0);
        Reconciler reconciler = new(new RtnlKernelPort(_node!.Rtnl));
        reconciler.Reconcile(plan);

        ReconcileResult second = new Reconciler(new RtnlKernelPort(_node!.Rtnl)).Reconcile(plan with { Routes = plan.Routes.Take(1).ToList() });

        Assert.True(second.Converged, string.Join("; ", second.Errors));
        Assert.Equal(["10.244.2.0/24 via 192.0.2.12 dev eth0"], Routes());
        Assert.Contains("10.9.0.0/16 via 192.0.2.1", _node!.Ns.Ip("route", "show"), StringComparison.Ordinal);
    }
}
