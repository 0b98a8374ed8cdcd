using System.Net;
using Twill.Bgp.Speaker;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Tests;

public class ImportFilterTests
{
    private static readonly ImportFilter Filter = new() { ClusterNetworks = [IPNetwork.Parse("10.244.0.0/16")], OwnSubnets = [IPNetwork.Parse("10.244.11.0/24")] };
    private static readonly IPAddress Tor = IPAddress.Parse("198.51.100.1");

    private static string? Reject(string prefix, uint[] path, IPAddress? nextHop = null) =>
        Filter.Reject(IPNetwork.Parse(prefix), AsPathAttribute.Sequence(path), nextHop ?? Tor, 64512, [], [IPAddress.Parse("198.51.100.11")]);

    [Theory]
    [InlineData("10.244.12.0/24", null)]
    [InlineData("10.245.0.0/24", "outside the cluster network")]
    [InlineData("10.0.0.0/8", "outside the cluster network")]
    [InlineData("10.244.11.0/24", "overlaps our own subnet")]
    [InlineData("10.244.11.64/26", "overlaps our own subnet")]
    [InlineData("fd00::/64", "outside the cluster network")]
    public void Reject_ByPrefix(string prefix, string? reason)
    {
        string? why = Reject(prefix, [65000]);
        if (reason is null)
        {
            Assert.Null(why);
        }
        else
        {
            Assert.Contains(reason, why, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Reject_PathWithOurAsn() => Assert.Contains("AS64512", Reject("10.244.12.0/24", [65000, 64512]), StringComparison.Ordinal);

    [Fact]
    public void Reject_OurselvesAsNextHop() => Assert.Contains("ourselves", Reject("10.244.12.0/24", [65000], IPAddress.Parse("198.51.100.11")), StringComparison.Ordinal);
}
