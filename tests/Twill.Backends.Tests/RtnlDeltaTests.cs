using System.Net;
using Twill.Netlink;
using Twill.Testing;

namespace Twill.Backends.Tests;

/// <summary>Delta passes against the real kernel, in a throw-away namespace; iproute2 is the oracle.</summary>
public sealed class RtnlDeltaTests : IDisposable
{
    private readonly UnderlayNamespace? _node = UnderlayNamespace.CreateIfRoot("delta");

    private static readonly PeerLease Peer2 = Leases.Lease(2, "192.0.2.12", "0a:00:00:00:00:02");
    private static readonly PeerLease Peer3 = Leases.Lease(3, "198.51.100.13", "0a:00:00:00:00:03");
    private static readonly PeerLease Peer4 = Leases.Lease(4, "203.0.113.14", "0a:00:00:00:00:04");

    public void Dispose() => _node?.Dispose();

    private KernelPlan Plan(params PeerLease[] peers)
    {
        Link link = _node!.Rtnl.GetLink("eth0");
        Underlay eth0 = new(link.Index, "eth0", link.Mtu, IPAddress.Parse("192.0.2.11"), IPNetwork.Parse("192.0.2.0/24"));
        return VxlanBackend.Plan(Leases.Vxlan, Leases.Own, peers, eth0, Leases.Mac("0a:00:00:00:00:01"));
    }

    private string[] Routes() => [.. _node!.Ns.IpJson("route", "show", "proto", "84").EnumerateArray()
        .Select(r => r.GetProperty("dst").GetString()!).Order(StringComparer.Ordinal)];

    [RootFact]
    public void ApplyDelta_PeersAddedChangedRemoved_KernelMatchesAFullRead()
    {
        RtnlKernelPort port = new(_node!.Rtnl);
        Reconciler reconciler = new(port);
        Assert.True(reconciler.Reconcile(Plan(Peer2, Peer3)).Converged);

        ReconcileResult added = reconciler.ApplyDelta(Plan(Peer2, Peer3, Peer4));
        ReconcileResult changed = reconciler.ApplyDelta(Plan(Peer2, Peer3 with { PublicIP = IPAddress.Parse("198.51.100.33") }, Peer4));
        ReconcileResult removed = reconciler.ApplyDelta(Plan(Peer3 with { PublicIP = IPAddress.Parse("198.51.100.33") }, Peer4));

        Assert.All([added, changed, removed], r => Assert.Equal(ReconcileMode.Delta, r.Mode));
        Assert.All([added, changed, removed], r => Assert.True(r.Converged, string.Join("; ", r.Errors)));
        Assert.Equal(["10.244.3.0/24", "10.244.4.0/24"], Routes());
        string fdb = _node!.Ns.Exec("bridge", "fdb", "show", "dev", "flannel.4096").Stdout;
        Assert.Contains("0a:00:00:00:00:03 dst 198.51.100.33", fdb, StringComparison.Ordinal);
        Assert.DoesNotContain("198.51.100.13", fdb, StringComparison.Ordinal);
        Assert.DoesNotContain("0a:00:00:00:00:02", fdb, StringComparison.Ordinal);
        Assert.DoesNotContain("10.244.2.0", _node!.Ns.Ip("neigh", "show", "dev", "flannel.4096"), StringComparison.Ordinal);
        // What the deltas left is exactly what a full read finds wanted.
        Assert.True(PlanDiffer.Diff(Plan(Peer3 with { PublicIP = IPAddress.Parse("198.51.100.33") }, Peer4), port.Read("flannel.4096")).IsEmpty);
    }

    [RootFact]
    public void ApplyDelta_DeviceDeletedByHand_FailsThenFullPassRestores()
    {
        Reconciler reconciler = new(new RtnlKernelPort(_node!.Rtnl));
        Assert.True(reconciler.Reconcile(Plan(Peer2)).Converged);
        _node!.Ns.Ip("link", "del", "flannel.4096");

        ReconcileResult delta = reconciler.ApplyDelta(Plan(Peer2, Peer3));
        ReconcileResult next = reconciler.ApplyDelta(Plan(Peer2, Peer3));

        Assert.Equal(ReconcileMode.Delta, delta.Mode);
        Assert.False(delta.Converged);
        Assert.Equal(ReconcileMode.Full, next.Mode);
        Assert.True(next.Converged, string.Join("; ", next.Errors));
        Assert.Equal(DeviceAction.Create, next.DeviceAction);
        Assert.Equal(["10.244.2.0/24", "10.244.3.0/24"], Routes());
    }
}
