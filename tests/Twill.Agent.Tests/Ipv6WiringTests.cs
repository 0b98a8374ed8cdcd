using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Backends;
using Twill.Core;
using Twill.Firewall.Masquerade;

namespace Twill.Agent.Tests;

/// <summary>The agent's per-family decisions (<see cref="DualStack"/>): lease attributes, own plan inputs, firewall.</summary>
public class Ipv6WiringTests
{
    private static NetworkConfig Config(string json) => NetworkConfig.Parse(json, out _);

    private static readonly NetworkConfig DualConfig = Config(
        """{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan","VNI":1}}""");

    private static readonly NetworkConfig Only6Config = Config(
        """{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}""");

    private static Leases.Lease Lease(string key, string value) =>
        Leases.Lease.TryFromRecord(new Leases.Store.LeaseRecord(key, value, DateTimeOffset.UtcNow.AddHours(1), 1), out Leases.Lease? l, out string? e)
            ? l : throw new InvalidOperationException(e);

    private static readonly Leases.Lease DualLease = Lease("10.244.3.0-24&fd00:10:244:3::-64",
        """{"PublicIP":"192.0.2.11","PublicIPv6":"2001:db8::11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"},"BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:06:01"}}""");

    private static readonly UnderlayChoice DualUnderlay = new()
    {
        V4 = new Underlay(2, "eth0", 1500, IPAddress.Parse("192.0.2.11"), IPNetwork.Parse("192.0.2.0/24")),
        PublicIP = IPAddress.Parse("192.0.2.11"),
        V6 = new Underlay(2, "eth0", 1500, IPAddress.Parse("2001:db8::11"), IPNetwork.Parse("2001:db8::/64")),
        PublicIPv6 = IPAddress.Parse("2001:db8::11"),
    };

    [Fact]
    public void Families_DualStackAndIpv6Only_InOrder()
    {
        Assert.Equal([AddressFamily.InterNetwork, AddressFamily.InterNetworkV6], DualStack.Families(DualConfig));
        Assert.Equal([AddressFamily.InterNetworkV6], DualStack.Families(Only6Config));
    }

    [Fact]
    public void LeaseAttrsFor_DualStackVxlan_FlannelsJsonWithBackendV6Data()
    {
        string json = DualStack.LeaseAttrsFor(new BackendSettings { Vni = 1 }, DualUnderlay,
            PhysicalAddress.Parse("0a:00:00:00:00:01"), PhysicalAddress.Parse("0a:00:00:00:06:01")).ToJson();

        Assert.Equal(
            """{"PublicIP":"192.0.2.11","PublicIPv6":"2001:db8::11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"},"BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:06:01"}}""",
            json);
    }

    [Fact]
    public void LeaseAttrsFor_Ipv6OnlyVxlan_ZeroPublicIpAndNoBackendData()
    {
        UnderlayChoice only6 = DualUnderlay with { V4 = null, PublicIP = null };

        string json = DualStack.LeaseAttrsFor(new BackendSettings { Vni = 1 }, only6, null, PhysicalAddress.Parse("0a:00:00:00:06:01")).ToJson();

        Assert.Equal("""{"PublicIP":"0.0.0.0","PublicIPv6":"2001:db8::11","BackendType":"vxlan","BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:06:01"}}""", json);
    }

    [Fact]
    public void LeaseAttrsFor_DualStackHostGw_BothPublicAddresses()
    {
        string json = DualStack.LeaseAttrsFor(new BackendSettings { Kind = BackendKind.HostGw }, DualUnderlay, null, null).ToJson();

        Assert.Equal("""{"PublicIP":"192.0.2.11","PublicIPv6":"2001:db8::11","BackendType":"host-gw"}""", json);
    }

    [Fact]
    public void OwnInput_LeaseWithoutIpv6Subnet_ErrorNamesLeaseAndField()
    {
        Leases.Lease only4 = Lease("10.244.3.0-24", """{"PublicIP":"192.0.2.11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"}}""");

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => DualStack.OwnInput(new PeerLeases(), only4, AddressFamily.InterNetworkV6));

        Assert.Equal("lease 10.244.3.0-24 has no IPv6 subnet although EnableIPv6 is true in net-conf.json", e.Message);
    }

    [Fact]
    public void FirewallConfig_DualStack_BothFamiliesNetworks()
    {
        NodeFirewallConfig fw = DualStack.FirewallConfig(DualConfig, DualLease, ipMasq: true, forward: true);

        Assert.Equal(IPNetwork.Parse("10.244.0.0/16"), fw.NetworkV4);
        Assert.Equal(IPNetwork.Parse("10.244.3.0/24"), fw.SubnetV4);
        Assert.Equal(IPNetwork.Parse("fd00:10:244::/56"), fw.NetworkV6);
        Assert.Equal(IPNetwork.Parse("fd00:10:244:3::/64"), fw.SubnetV6);
        Assert.True(fw.IpMasq);
    }
}
