using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Twill.Backends;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Agent.Tests;

public sealed class VtepMacClaimTests : IDisposable
{
    private static readonly PhysicalAddress Saved = PhysicalAddress.Parse("0a:00:00:00:00:01");
    private static readonly BackendSettings Vxlan = new() { Kind = BackendKind.Vxlan, Vni = 4096 };
    private static readonly UnderlayChoice Underlay = new() { PublicIP = IPAddress.Parse("192.0.2.12") };
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-vtep-claim-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Lease Peer(string key, string mac) =>
        Lease.TryFromRecord(new LeaseRecord(key, """{"PublicIP":"192.0.2.11","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"@mac"}}""".Replace("@mac", mac, StringComparison.Ordinal),
            DateTimeOffset.UtcNow.AddHours(1), 1), out Lease? l, out string? e) ? l : throw new InvalidOperationException(e);

    private VtepMacClaim Claim() => new(_dir, Vxlan, Underlay, new() { [AddressFamily.InterNetwork] = Saved }, NullLogger.Instance);

    [Fact]
    public void Revise_MacHeldByAnotherLease_NewMacSavedAndPublished()
    {
        VtepMacClaim claim = Claim();

        LeaseAttrs attrs = claim.Revise([Peer("10.244.1.0-24", "0a:00:00:00:00:01")], claim.Attrs());

        PhysicalAddress fresh = claim.Macs[AddressFamily.InterNetwork]!;
        Assert.NotEqual(Saved, fresh);
        Assert.Equal(fresh, attrs.VxlanData!.VtepMac);
        Assert.Equal(fresh, VtepMacState.LoadOrCreate(_dir, "flannel.4096", null));
        Assert.Equal(IPAddress.Parse("192.0.2.12"), attrs.PublicIP);
    }

    [Fact]
    public void Revise_MacFree_Unchanged()
    {
        VtepMacClaim claim = Claim();
        LeaseAttrs before = claim.Attrs();

        LeaseAttrs after = claim.Revise([Peer("10.244.1.0-24", "0a:00:00:00:00:02")], before);

        Assert.Same(before, after);
        Assert.Equal(Saved, claim.Macs[AddressFamily.InterNetwork]);
        Assert.False(File.Exists(Path.Combine(_dir, "vtep-mac-flannel.4096")), "nothing renewed, nothing written");
    }

    [Fact]
    public void HeldBy_OtherFamilyOnly_NotHeld()
    {
        Assert.Null(VtepMacState.HeldBy([Peer("10.244.1.0-24", "0a:00:00:00:00:01")], Saved, AddressFamily.InterNetworkV6));
        Assert.Equal("10.244.1.0-24", VtepMacState.HeldBy([Peer("10.244.1.0-24", "0a:00:00:00:00:01")], Saved, AddressFamily.InterNetwork));
    }
}
