using System.Net;
using System.Net.NetworkInformation;
using Twill.Backends;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Agent.Tests;

public class DataPathStackTests
{
    private static readonly Underlay Eth0 = new(2, "eth0", 1500, IPAddress.Parse("192.0.2.11"), IPNetwork.Parse("192.0.2.0/24"));
    private static readonly BackendSettings Vxlan = new() { Kind = BackendKind.Vxlan, Vni = 4096, Port = 4789 };

    private static Lease LeaseOf(int third, string mac) =>
        Lease.TryFromRecord(new LeaseRecord($"10.244.{third}.0-24",
            $$$"""{"PublicIP":"192.0.2.{{{20 + third}}}","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"{{{mac}}}"}}""",
            DateTimeOffset.UtcNow.AddHours(1), third), out Lease? lease, out string? error) ? lease : throw new InvalidOperationException(error);

    private static (DataPathStack Stack, RecordingKernel Kernel, List<Lease> Converted) NewStack()
    {
        RecordingKernel kernel = new();
        List<Lease> converted = [];
        PeerLeases peerLeases = new();
        PeerLease own = peerLeases.Convert(LeaseOf(1, "0a:00:00:00:00:01"))!;
        DataPathStack stack = new("IPv4", Vxlan, own, Eth0, PhysicalAddress.Parse("0a:00:00:00:00:01"), new Reconciler(kernel), lease =>
        {
            converted.Add(lease);
            return peerLeases.Convert(lease);
        });
        return (stack, kernel, converted);
    }

    [Fact]
    public void Run_FirstFullThenEvents_DeltaConvertsOnlyChangedLeases()
    {
        (DataPathStack stack, RecordingKernel kernel, List<Lease> converted) = NewStack();
        Lease a = LeaseOf(2, "0a:00:00:00:00:02"), b = LeaseOf(3, "0a:00:00:00:00:03"), c = LeaseOf(4, "0a:00:00:00:00:04");

        StackPass first = stack.Run([a, b], full: false);
        int readsAfterFirst = kernel.Reads;
        StackPass second = stack.Run([a, b, c], full: false);
        Lease b2 = LeaseOf(3, "0a:00:00:00:00:33");
        StackPass third = stack.Run([a, b2, c], full: false);

        Assert.Equal(ReconcileMode.Full, first.Result.Mode);
        Assert.Equal(ReconcileMode.Delta, second.Result.Mode);
        Assert.Equal(ReconcileMode.Delta, third.Result.Mode);
        Assert.Equal(readsAfterFirst, kernel.Reads);
        Assert.Equal([a, b, c, b2], converted);
        Assert.Equal(3, second.Result.Applied); // neighbour, FDB entry and route of the new peer
        Assert.Equal(3, third.Plan.PeerCount);
        Assert.Same(third.Plan, stack.LastPlan);
        Assert.False(stack.NeedsFull);
    }

    [Fact]
    public void Run_FullRequested_ReadsTheKernel()
    {
        (DataPathStack stack, RecordingKernel kernel, _) = NewStack();
        Lease a = LeaseOf(2, "0a:00:00:00:00:02");
        stack.Run([a], full: false);
        int reads = kernel.Reads;

        StackPass pass = stack.Run([a], full: true);

        Assert.Equal(ReconcileMode.Full, pass.Result.Mode);
        Assert.True(kernel.Reads > reads);
    }

    /// <summary>A kernel that accepts everything and remembers only what a full read needs.</summary>
    private sealed class RecordingKernel : IKernelPort
    {
        private ObservedDevice? _device;
        private readonly List<KernelChange> _applied = [];

        public int Reads { get; private set; }

        public KernelState Read(string? deviceName)
        {
            Reads++;
            return new KernelState { Devices = _device is null ? [] : [_device] };
        }

        public void CreateDevice(PlannedDevice device) => _device = new ObservedDevice(device) { Index = 9, IsUp = true };

        public void DeleteDevice(string name) => _device = null;

        public void UpdateDevice(string name, int mtu, PhysicalAddress? mac) => _device = _device! with { Mtu = mtu, Mac = mac ?? _device.Mac };

        public IReadOnlyList<KernelFailure?> Apply(IReadOnlyList<KernelChange> changes)
        {
            _applied.AddRange(changes);
            return new KernelFailure?[changes.Count];
        }
    }
}
