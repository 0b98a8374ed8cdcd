using Google.Protobuf;

namespace Twill.Leases.Etcd.Tests;

public sealed class EtcdKeyLayoutTests
{
    [Theory]
    [InlineData("/coreos.com/network", "10.244.3.0-24", "/coreos.com/network/subnets/10.244.3.0-24")]
    [InlineData("/coreos.com/network/", "10.244.4.0-24&fd00:10:244:4::-64", "/coreos.com/network/subnets/10.244.4.0-24&fd00:10:244:4::-64")]
    public void SubnetKey_FlannelPrefix_JoinsLikeGoPathJoin(string prefix, string key, string expected)
    {
        EtcdKeyLayout layout = new(prefix);

        Assert.Equal(expected, layout.SubnetKey(key));
        Assert.Equal("/coreos.com/network/config", layout.ConfigKey);
        Assert.Equal(key, layout.LeaseKeyOf(ByteString.CopyFromUtf8(expected)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.244.3.0/24")]
    public void SubnetKey_NotASubnetKey_ThrowsNamingIt(string key)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => new EtcdKeyLayout("/p").SubnetKey(key));
        Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LeaseKeyOf_KeyOutsideSubnets_Null()
    {
        EtcdKeyLayout layout = new("/coreos.com/network");

        Assert.Null(layout.LeaseKeyOf(ByteString.CopyFromUtf8("/coreos.com/network/config")));
        Assert.Null(layout.LeaseKeyOf(ByteString.CopyFromUtf8("/coreos.com/network/subnets/")));
        Assert.Null(layout.LeaseKeyOf(ByteString.CopyFromUtf8("/coreos.com/network/subnetsX")));
    }

    [Fact]
    public void RangeEndOf_Prefix_IsPrefixWithLastByteIncremented()
    {
        Assert.Equal("/a/subnets0", EtcdKeyLayout.RangeEndOf(ByteString.CopyFromUtf8("/a/subnets/")).ToStringUtf8());
        Assert.Equal([0x61, 0x62], EtcdKeyLayout.RangeEndOf(ByteString.CopyFrom(0x61, 0x61, 0xff)).ToByteArray());
    }

    [Fact]
    public void Validate_BadOptions_ReportsEveryProblemWithItsValue()
    {
        EtcdLeaseStoreOptions options = new()
        {
            Endpoints = ["127.0.0.1:2379", "https://a:2379"],
            Prefix = "coreos.com",
            CertFile = "/nonexistent/cert.pem",
            Username = "flannel",
        };

        IReadOnlyList<string> errors = options.Validate();

        Assert.Contains(errors, e => e.Contains("127.0.0.1:2379", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("prefix coreos.com", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("keyfile (none)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("/nonexistent/cert.pem: no such file", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("username flannel", StringComparison.Ordinal));
        Assert.Empty(new EtcdLeaseStoreOptions().Validate());
    }
}
