using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Leases.Tests;

public class PeerSetTests
{
    internal static readonly NetworkConfig Vxlan = NetworkConfig.Parse("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""", out _);

    private static long _revision;

    internal static string VxlanValue(string publicIP, string mac = "c6:d2:32:6f:8f:44", int vni = 4096) =>
        LeaseAttrs.ForVxlan(IPAddress.Parse(publicIP), new VxlanLeaseData(vni, PhysicalAddress.Parse(mac))).ToJson();

    private static LeaseRecord Record(string key, string value) =>
        new(key, value, DateTimeOffset.UtcNow.AddHours(1), Interlocked.Increment(ref _revision));

    private static Lease Own() =>
        new(LeaseSubnets.ParseKey("10.244.1.0-24"), LeaseAttrs.Parse(VxlanValue("192.0.2.1", "02:00:00:00:00:01")), DateTimeOffset.UtcNow.AddHours(1), 1);

    private static (PeerSet Set, List<string> Warnings) NewSet()
    {
        List<string> warnings = [];
        return (new PeerSet(Vxlan, warnings.Add) { Own = Own() }, warnings);
    }

    [Fact]
    public void Reset_ValidPeers_SnapshotHoldsThemButNotOurOwn()
    {
        (PeerSet set, List<string> warnings) = NewSet();

        PeerEvent e = set.Reset([
            Record("10.244.1.0-24", VxlanValue("192.0.2.1", "02:00:00:00:00:01")),
            Record("10.244.2.0-24", VxlanValue("192.0.2.2")),
            Record("10.244.3.0-24", VxlanValue("192.0.2.3")),
        ]);

        Assert.Equal(PeerEventKind.Snapshot, e.Kind);
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24"], e.Peers.Select(p => p.Key));
        Assert.Empty(warnings);
    }

    [Theory]
    [InlineData("10.245.2.0-24", null, "lease 10.245.2.0-24 skipped: subnet 10.245.2.0/24 is outside Network 10.244.0.0/16")]
    [InlineData("10.0.0.0-8", null, "subnet 10.0.0.0/8 is outside Network")]
    [InlineData("10.244.0.0-16", null, "it overlaps this node's subnet 10.244.1.0/24")]
    [InlineData("10.244.1.128-25", null, "it overlaps this node's subnet 10.244.1.0/24")]
    [InlineData("10.244.2.0-24", """{"PublicIP":"192.0.2.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"c6:d2:32:6f:8f:44"}}""", "PublicIP 192.0.2.1 is this node's address")]
    [InlineData("10.244.2.0-24", """{"PublicIP":"192.0.2.2","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"zz"}}""", "lease 10.244.2.0-24 skipped: vxlan BackendData VtepMAC \"zz\" is not a MAC address")]
    [InlineData("10.244.2.0-24", """{"PublicIP":"192.0.2.2","PublicIPv6":null,"BackendType":"vxlan"}""", "vxlan BackendData is missing")]
    [InlineData("10.244.2.0-24", """{"PublicIP":"192.0.2.2","PublicIPv6":null,"BackendType":"host-gw"}""", "BackendType \"host-gw\" is not this network's \"vxlan\"")]
    [InlineData("10.244.2.0-24", """{"PublicIP":"0.0.0.0","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"c6:d2:32:6f:8f:44"}}""", "PublicIP 0.0.0.0 is not a usable address")]
    [InlineData("10.244.2.0-24", "garbage", "lease 10.244.2.0-24: lease value is not valid JSON")]
    [InlineData("10.244.2.5-24", null, "lease key '10.244.2.5-24' has host bits set")]
    [InlineData("10.244.2.0-24&fd00::-64", null, "subnet fd00::/64 is outside IPv6Network (IPv6 disabled)")]
    [InlineData("10.244.2.0-25", null, "lease 10.244.2.0-25 skipped: subnet 10.244.2.0/25 is /25, not SubnetLen /24")]
    [InlineData("10.244.2.0-23", null, "lease 10.244.2.0-23 skipped: subnet 10.244.2.0/23 is /23, not SubnetLen /24")]
    public void Reset_HostileOrBrokenLease_IsSkippedWithWarningNamingKey(string key, string? value, string expected)
    {
        (PeerSet set, List<string> warnings) = NewSet();

        PeerEvent e = set.Reset([Record(key, value ?? VxlanValue("192.0.2.9")), Record("10.244.7.0-24", VxlanValue("192.0.2.7"))]);

        Assert.Equal(["10.244.7.0-24"], e.Peers.Select(p => p.Key));
        string warning = Assert.Single(warnings);
        Assert.Contains(expected, warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.244.2.0-24&fd00:10:244:2::-80", "lease 10.244.2.0-24&fd00:10:244:2::-80 skipped: subnet fd00:10:244:2::/80 is /80, not IPv6SubnetLen /64")]
    [InlineData("10.244.2.0-24&fd00:10:244:2::-63", "subnet fd00:10:244:2::/63 is /63, not IPv6SubnetLen /64")]
    public void Reset_DualStackPeerWithOtherIPv6SubnetLen_IsSkippedWithWarningNamingKey(string key, string expected)
    {
        NetworkConfig dual = NetworkConfig.Parse(
            """{"EnableIPv6":true,"Network":"10.244.0.0/16","IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""", out _);
        List<string> warnings = [];
        PeerSet set = new(dual, warnings.Add) { Own = Own() };

        PeerEvent e = set.Reset([Record(key, VxlanValue("192.0.2.9")), Record("10.244.7.0-24&fd00:10:244:7::-64", VxlanValue("192.0.2.7"))]);

        Assert.Equal(["10.244.7.0-24&fd00:10:244:7::-64"], e.Peers.Select(p => p.Key));
        string warning = Assert.Single(warnings);
        Assert.Contains(expected, warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_PutDeleteAndChange_EmitEvents()
    {
        (PeerSet set, _) = NewSet();
        set.Reset([]);

        IReadOnlyList<PeerEvent> added = set.Apply(Put("10.244.2.0-24", VxlanValue("192.0.2.2")));
        IReadOnlyList<PeerEvent> changed = set.Apply(Put("10.244.2.0-24", VxlanValue("192.0.2.2", "02:00:00:00:00:22")));
        IReadOnlyList<PeerEvent> removed = set.Apply(new LeaseChange(LeaseChangeKind.Delete, "10.244.2.0-24", null, null, 99));
        IReadOnlyList<PeerEvent> unknown = set.Apply(new LeaseChange(LeaseChangeKind.Delete, "10.244.9.0-24", null, null, 100));

        Assert.Equal(PeerEventKind.Added, Assert.Single(added).Kind);
        PeerEvent c = Assert.Single(changed);
        Assert.Equal(PeerEventKind.Changed, c.Kind);
        Assert.Equal("02:00:00:00:00:22", c.Lease!.Attrs.VxlanData!.VtepMacText);
        PeerEvent r = Assert.Single(removed);
        Assert.Equal(PeerEventKind.Removed, r.Kind);
        Assert.Equal("10.244.2.0-24", r.Lease!.Key);
        Assert.Empty(unknown);
        Assert.Empty(set.Peers);
    }

    [Fact]
    public void Apply_ValidPeerTurnsInvalid_IsRemoved()
    {
        (PeerSet set, List<string> warnings) = NewSet();
        set.Reset([Record("10.244.2.0-24", VxlanValue("192.0.2.2"))]);

        IReadOnlyList<PeerEvent> events = set.Apply(Put("10.244.2.0-24", """{"PublicIP":"192.0.2.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"c6:d2:32:6f:8f:44"}}"""));

        PeerEvent e = Assert.Single(events);
        Assert.Equal(PeerEventKind.Removed, e.Kind);
        Assert.Contains("PublicIP 192.0.2.1 is this node's address", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_OverlappingPeerOfOtherLength_SkippedEvenAfterTheFirstLeaves()
    {
        (PeerSet set, List<string> warnings) = NewSet();
        set.Reset([Record("10.244.4.0-24", VxlanValue("192.0.2.4"))]);

        IReadOnlyList<PeerEvent> overlap = set.Apply(Put("10.244.4.0-23", VxlanValue("192.0.2.5")));
        IReadOnlyList<PeerEvent> leave = set.Apply(new LeaseChange(LeaseChangeKind.Delete, "10.244.4.0-24", null, null, 1000));

        Assert.Empty(overlap);
        Assert.Contains("lease 10.244.4.0-23 skipped: it overlaps peer lease 10.244.4.0-24", Assert.Single(warnings), StringComparison.Ordinal);
        Assert.Equal([PeerEventKind.Removed], leave.Select(e => e.Kind));
        Assert.Empty(set.Peers);
    }

    [Fact]
    public void Apply_DualStackPeerSharingIPv6Subnet_SkippedUntilTheFirstLeaves()
    {
        NetworkConfig dual = NetworkConfig.Parse(
            """{"EnableIPv6":true,"Network":"10.244.0.0/16","IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""", out _);
        List<string> warnings = [];
        PeerSet set = new(dual, warnings.Add) { Own = Own() };
        set.Reset([Record("10.244.4.0-24&fd00:10:244:4::-64", VxlanValue("192.0.2.4"))]);

        IReadOnlyList<PeerEvent> overlap = set.Apply(Put("10.244.5.0-24&fd00:10:244:4::-64", VxlanValue("192.0.2.5")));
        IReadOnlyList<PeerEvent> leave = set.Apply(new LeaseChange(LeaseChangeKind.Delete, "10.244.4.0-24&fd00:10:244:4::-64", null, null, 1000));

        Assert.Empty(overlap);
        Assert.Contains("it overlaps peer lease 10.244.4.0-24&fd00:10:244:4::-64", Assert.Single(warnings), StringComparison.Ordinal);
        Assert.Equal([PeerEventKind.Removed, PeerEventKind.Added], leave.Select(e => e.Kind));
        Assert.Equal("10.244.5.0-24&fd00:10:244:4::-64", leave[1].Lease!.Key);
    }

    [Fact]
    public void Apply_SameRecordTwice_WarnsOnce()
    {
        (PeerSet set, List<string> warnings) = NewSet();
        set.Reset([]);
        LeaseChange bad = Put("10.245.0.0-24", VxlanValue("192.0.2.9"));

        set.Apply(bad);
        set.Apply(bad);
        set.Apply(Put("10.244.9.0-24", VxlanValue("192.0.2.9")));

        Assert.Single(warnings);
    }

    [Fact]
    public void Apply_WindowsFirstPublication_IsAcceptedWithoutMac()
    {
        (PeerSet set, List<string> warnings) = NewSet();
        set.Reset([]);

        IReadOnlyList<PeerEvent> events = set.Apply(Put("10.244.2.0-24", """{"PublicIP":"192.0.2.21","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":""}}"""));

        Assert.False(Assert.Single(events).Lease!.Attrs.VxlanData!.HasVtepMac);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Apply_Resync_ReplacesEverything()
    {
        (PeerSet set, _) = NewSet();
        set.Reset([Record("10.244.2.0-24", VxlanValue("192.0.2.2"))]);

        IReadOnlyList<PeerEvent> events = set.Apply(new LeaseChange(LeaseChangeKind.Resync, "", null,
            new LeaseListing([Record("10.244.3.0-24", VxlanValue("192.0.2.3"))], 5000), 5000));

        PeerEvent e = Assert.Single(events);
        Assert.Equal(PeerEventKind.Snapshot, e.Kind);
        Assert.Equal(["10.244.3.0-24"], e.Peers.Select(p => p.Key));
        Assert.Equal(["10.244.3.0-24"], set.Peers.Select(p => p.Key));
    }

    [Fact]
    public void Reset_FiveThousandPeers_IsFast()
    {
        NetworkConfig big = NetworkConfig.Parse("""{"Network":"10.0.0.0/8","Backend":{"Type":"host-gw"}}""", out _);
        List<LeaseRecord> records = [];
        for (int i = 1; i <= 5000; i++)
        {
            records.Add(Record($"10.{i / 256}.{i % 256}.0-24", LeaseAttrs.ForHostGw(IPAddress.Parse($"198.51.{i / 256}.{i % 256}")).ToJson()));
        }
        PeerSet set = new(big);

        PeerEvent e = set.Reset(records);

        Assert.Equal(5000, e.Peers.Count);
    }

    private static LeaseChange Put(string key, string value)
    {
        LeaseRecord r = Record(key, value);
        return new LeaseChange(LeaseChangeKind.Put, key, r, null, r.Revision);
    }
}
