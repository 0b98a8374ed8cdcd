using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Leases.Tests;

public class LeaseModelTests
{
    private const string Prefix = "/coreos.com/network/subnets/";

    /// <summary>The (key, value) pairs of etcd-lease.key-value.txt: a key line followed by its value line.</summary>
    public static TheoryData<string, string> FixtureLeases()
    {
        TheoryData<string, string> data = [];
        string[] lines = [.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "fixtures", "flannel", "etcd-lease.key-value.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))];
        for (int i = 0; i + 1 < lines.Length; i += 2)
        {
            if (lines[i].StartsWith(Prefix, StringComparison.Ordinal))
            {
                data.Add(lines[i][Prefix.Length..], lines[i + 1]);
            }
        }
        return data;
    }

    [Fact]
    public void FixtureLeases_HasTheThreeSamples()
    {
        Assert.Equal(3, FixtureLeases().Count);
    }

    [Theory]
    [MemberData(nameof(FixtureLeases))]
    public void ParseKey_FixtureKey_RoundTripsByteForByte(string key, string value)
    {
        _ = value;
        Assert.Equal(key, LeaseSubnets.ParseKey(key).ToKey());
    }

    [Theory]
    [MemberData(nameof(FixtureLeases))]
    public void LeaseAttrs_FixtureValue_RoundTripsByteForByte(string key, string value)
    {
        _ = key;
        Assert.Equal(value, LeaseAttrs.Parse(value).ToJson());
    }

    [Fact]
    public void Parse_VxlanFixture_ReadsEveryField()
    {
        LeaseSubnets subnets = LeaseSubnets.ParseKey("10.244.3.0-24");
        LeaseAttrs attrs = LeaseAttrs.Parse("""{"PublicIP":"192.0.2.13","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"c6:d2:32:6f:8f:44"}}""");

        Assert.Equal(IPNetwork.Parse("10.244.3.0/24"), subnets.IPv4);
        Assert.Null(subnets.IPv6);
        Assert.Equal(IPAddress.Parse("192.0.2.13"), attrs.PublicIP);
        Assert.Null(attrs.PublicIPv6);
        Assert.Equal("vxlan", attrs.BackendType);
        Assert.Equal(new VxlanLeaseData(4096, PhysicalAddress.Parse("c6:d2:32:6f:8f:44")), attrs.VxlanData);
        Assert.Null(attrs.VxlanV6Data);
    }

    [Fact]
    public void Parse_DualStackFixture_ReadsBothFamilies()
    {
        LeaseSubnets subnets = LeaseSubnets.ParseKey("10.244.4.0-24&fd00:10:244:4::-64");
        LeaseAttrs attrs = LeaseAttrs.Parse("""{"PublicIP":"192.0.2.14","PublicIPv6":"2001:db8::14","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"2e:51:0a:33:7c:01"},"BackendV6Data":{"VNI":4096,"VtepMAC":"2e:51:0a:33:7c:02"}}""");

        Assert.Equal(IPNetwork.Parse("10.244.4.0/24"), subnets.IPv4);
        Assert.Equal(IPNetwork.Parse("fd00:10:244:4::/64"), subnets.IPv6);
        Assert.Equal(IPAddress.Parse("2001:db8::14"), attrs.PublicIPv6);
        Assert.Equal("2e:51:0a:33:7c:02", attrs.VxlanV6Data!.VtepMacText);
    }

    [Fact]
    public void ForVxlan_BuiltInCode_IsTheFixtureValue()
    {
        LeaseAttrs attrs = LeaseAttrs.ForVxlan(IPAddress.Parse("192.0.2.13"), new VxlanLeaseData(4096, PhysicalAddress.Parse("C6-D2-32-6F-8F-44")));
        Assert.Equal("""{"PublicIP":"192.0.2.13","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"c6:d2:32:6f:8f:44"}}""", attrs.ToJson());
    }

    [Fact]
    public void ForHostGw_BuiltInCode_OmitsBackendData()
    {
        Assert.Equal("""{"PublicIP":"192.0.2.15","PublicIPv6":null,"BackendType":"host-gw"}""", LeaseAttrs.ForHostGw(IPAddress.Parse("192.0.2.15")).ToJson());
    }

    [Fact]
    public void LeaseAttrs_KeysInOtherCasesAndUnknownKeys_ReadAsFlannelDoes()
    {
        LeaseAttrs attrs = LeaseAttrs.Parse("""{"publicip":"192.0.2.9","backendtype":"host-gw","BackendData":null,"Extra":1}""");
        Assert.Equal(IPAddress.Parse("192.0.2.9"), attrs.PublicIP);
        Assert.Null(attrs.BackendData);
        Assert.Equal("""{"PublicIP":"192.0.2.9","PublicIPv6":null,"BackendType":"host-gw"}""", attrs.ToJson());
    }

    [Theory]
    [InlineData("", "lease value is empty")]
    [InlineData("not json", "lease value is not valid JSON")]
    [InlineData("[1]", "lease value is not a JSON object")]
    [InlineData("""{"PublicIP":"192.0.2"}""", "lease PublicIP \"192.0.2\" is not an IPv4 address")]
    [InlineData("""{"PublicIP":"2001:db8::1"}""", "lease PublicIP \"2001:db8::1\" is not an IPv4 address")]
    [InlineData("""{"PublicIPv6":"192.0.2.1"}""", "lease PublicIPv6 \"192.0.2.1\" is not an IPv6 address")]
    [InlineData("""{"BackendType":7}""", "lease BackendType 7 is not a string")]
    public void LeaseAttrs_Malformed_SaysWhy(string json, string expected)
    {
        Assert.False(LeaseAttrs.TryParse(json, out _, out string? error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.244.3.0-24")]
    [InlineData("10.244.4.0-24&fd00:10:244:4::-64")]
    [InlineData("0.0.0.0-0&fd00:10:244:4::-64")]
    [InlineData("10.244.0.4-30")]
    public void ParseKey_Canonical_RoundTrips(string key)
    {
        Assert.True(LeaseSubnets.TryParseKey(key, out LeaseSubnets subnets, out string? error), error);
        Assert.Equal(key, subnets.ToKey());
    }

    [Theory]
    [InlineData("10.244.3.7-24", "has host bits set in '10.244.3.7-24'")]
    [InlineData("10.244.3.0/24", "has no valid IPv4 part")]
    [InlineData("10.244.3.0-33", "has no valid IPv4 part")]
    [InlineData("fd00::-64", "has no valid IPv4 part")]
    [InlineData("10.244.3.0-24&10.244.4.0-24", "has no valid IPv6 part")]
    [InlineData("10.244.3.0-24&fd00:10:244:4::1-64", "has host bits set")]
    [InlineData("10.244.3.0-24&FD00:10:244:4::-64", "is not in canonical form (expected '10.244.3.0-24&fd00:10:244:4::-64')")]
    [InlineData("0.0.0.0-0", "holds no subnet")]
    [InlineData("", "is empty")]
    public void ParseKey_Malformed_SaysWhy(string key, string expected)
    {
        Assert.False(LeaseSubnets.TryParseKey(key, out _, out string? error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void FromSubnetEnv_FlannelFixture_IsTheSubnetNotTheGateway()
    {
        SubnetEnv env = SubnetEnv.Read(Path.Combine(AppContext.BaseDirectory, "fixtures", "flannel", "subnet.env"));
        Assert.Equal("10.244.3.0-24", LeaseSubnets.FromSubnetEnv(env)!.Value.ToKey());
        Assert.Null(LeaseSubnets.FromSubnetEnv(new SubnetEnv()));
    }

    [Theory]
    [InlineData("""{"VNI":4096,"VtepMAC":""}""", 4096, null)]
    [InlineData("""{"vni":1,"vtepmac":"00:15:5d:4a:1c:07"}""", 1, "00:15:5d:4a:1c:07")]
    [InlineData("""{"VNI":4096,"VtepMAC":"00-15-5D-4A-1C-07"}""", 4096, "00:15:5d:4a:1c:07")]
    public void VxlanLeaseData_Valid_Parses(string json, int vni, string? mac)
    {
        Assert.True(VxlanLeaseData.TryParse(json, out VxlanLeaseData? data, out string? error), error);
        Assert.Equal(vni, data.Vni);
        Assert.Equal(mac ?? "", data.VtepMacText);
        Assert.Equal(mac is not null, data.HasVtepMac);
    }

    [Theory]
    [InlineData("null", "is not an object")]
    [InlineData("""{"VtepMAC":"00:15:5d:4a:1c:07"}""", "has no VNI")]
    [InlineData("""{"VNI":"4096","VtepMAC":"00:15:5d:4a:1c:07"}""", "VNI \"4096\" is not a 24-bit number")]
    [InlineData("""{"VNI":16777216,"VtepMAC":"00:15:5d:4a:1c:07"}""", "VNI 16777216 is not a 24-bit number")]
    [InlineData("""{"VNI":1,"VtepMAC":"00:15:5d:4a:1c"}""", "VtepMAC \"00:15:5d:4a:1c\" is not a MAC address")]
    [InlineData("""{"VNI":1,"VtepMAC":"ff:ff:ff:ff:ff:ff"}""", "is not a MAC address")]
    [InlineData("""{"VNI":1,"VtepMAC":"00:00:00:00:00:00"}""", "is not a MAC address")]
    [InlineData("""{"VNI":1,"VtepMAC":42}""", "VtepMAC 42 is not a string")]
    [InlineData("{", "is not valid JSON")]
    public void VxlanLeaseData_Malformed_SaysWhy(string json, string expected)
    {
        Assert.False(VxlanLeaseData.TryParse(json, out _, out string? error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryFromRecord_BadKey_NamesTheKey()
    {
        Assert.False(Lease.TryFromRecord(new LeaseRecord("10.244.3.9-24", "{}", DateTimeOffset.UnixEpoch, 1), out _, out string? error));
        Assert.StartsWith("lease key '10.244.3.9-24'", error, StringComparison.Ordinal);
        Assert.False(Lease.TryFromRecord(new LeaseRecord("10.244.3.0-24", "{", DateTimeOffset.UnixEpoch, 1), out _, out error));
        Assert.StartsWith("lease 10.244.3.0-24: lease value is not valid JSON", error, StringComparison.Ordinal);
    }
}
