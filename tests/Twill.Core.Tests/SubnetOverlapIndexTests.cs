using System.Net;

namespace Twill.Core.Tests;

public class SubnetOverlapIndexTests
{
    private static SubnetOverlapIndex<string> With(params string[] subnets)
    {
        SubnetOverlapIndex<string> index = new();
        foreach (string s in subnets)
        {
            index.Add(IPNetwork.Parse(s), s);
        }
        return index;
    }

    [Theory]
    [InlineData("10.244.3.0/24", null)]
    [InlineData("10.244.1.0/24", "10.244.1.0/24")]
    [InlineData("10.244.2.128/25", "10.244.2.0/24")]
    [InlineData("10.244.0.0/16", "10.244.1.0/24")]
    [InlineData("10.0.0.0/8", "10.244.1.0/24")]
    [InlineData("0.0.0.0/0", "10.244.1.0/24")]
    [InlineData("10.245.0.0/16", null)]
    [InlineData("10.244.2.7/32", "10.244.2.0/24")]
    public void FindOverlap_Ipv4_EarliestOverlappingOrNull(string query, string? expected)
    {
        SubnetOverlapIndex<string> index = With("10.244.1.0/24", "10.244.2.0/24", "10.250.0.0/16");

        Assert.Equal(expected, index.FindOverlap(IPNetwork.Parse(query)));
    }

    [Fact]
    public void FindOverlap_SeveralOverlap_FirstAdmittedWins()
    {
        SubnetOverlapIndex<string> index = With("10.244.9.0/24", "10.244.0.0/20", "10.244.3.0/24");

        Assert.Equal("10.244.9.0/24", index.FindOverlap(IPNetwork.Parse("10.244.0.0/16")));
    }

    [Fact]
    public void FindOverlap_Ipv6AndMixedFamilies_OnlySameFamily()
    {
        SubnetOverlapIndex<string> index = With("fd00:10:244:1::/64", "10.244.1.0/24");

        Assert.Equal("fd00:10:244:1::/64", index.FindOverlap(IPNetwork.Parse("fd00:10:244::/56")));
        Assert.Null(index.FindOverlap(IPNetwork.Parse("fd00:10:244:2::/64")));
        Assert.Equal("fd00:10:244:1::/64", index.FindOverlap(IPNetwork.Parse("::/0")));
        Assert.Equal("10.244.1.0/24", index.FindOverlap(IPNetwork.Parse("0.0.0.0/0")));
    }

    [Fact]
    public void FindOverlap_Except_PassesOverThatValueOnly()
    {
        SubnetOverlapIndex<string> index = With("10.244.1.0/24", "10.244.0.0/20");

        Assert.Equal("10.244.0.0/20", index.FindOverlap(IPNetwork.Parse("10.244.1.0/24"), except: "10.244.1.0/24"));
        Assert.Null(index.FindOverlap(IPNetwork.Parse("10.244.8.0/24"), except: "10.244.0.0/20"));
    }

    [Fact]
    public void Remove_OnlyByTheHolder_AndClearForgetsAll()
    {
        SubnetOverlapIndex<string> index = With("10.244.1.0/24", "10.244.2.0/24");

        index.Remove(IPNetwork.Parse("10.244.1.0/24"), "someone else");
        Assert.Equal("10.244.1.0/24", index.FindOverlap(IPNetwork.Parse("10.244.1.0/24")));
        index.Remove(IPNetwork.Parse("10.244.1.0/24"), "10.244.1.0/24");
        Assert.Null(index.FindOverlap(IPNetwork.Parse("10.244.1.0/24")));
        index.Clear();
        Assert.Null(index.FindOverlap(IPNetwork.Parse("0.0.0.0/0")));
    }

    [Fact]
    public void FindOverlap_SameAsPairwiseCheck_OnManySubnets()
    {
        // Every subnet of a pseudo-random mix of lengths, checked as the scan did it.
        Random random = new(42);
        List<IPNetwork> admitted = [];
        SubnetOverlapIndex<string> index = new();
        for (int i = 0; i < 400; i++)
        {
            int length = random.Next(14, 27);
            uint address = 0x0A000000u | ((uint)random.Next(0, 1 << 20) << 4);
            IPNetwork subnet = new(new IPAddress(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(address))).Mask(length), length);
            IPNetwork? scan = admitted.Cast<IPNetwork?>().FirstOrDefault(a => a!.Value.Contains(subnet.BaseAddress) || subnet.Contains(a!.Value.BaseAddress));
            string? found = index.FindOverlap(subnet);
            Assert.Equal(scan?.ToString(), found);
            if (found is null)
            {
                admitted.Add(subnet);
                index.Add(subnet, subnet.ToString());
            }
        }
        Assert.True(admitted.Count > 10);
    }
}

internal static class AddressMask
{
    public static IPAddress Mask(this IPAddress address, int length)
    {
        byte[] b = address.GetAddressBytes();
        for (int i = 0; i < b.Length; i++)
        {
            int keep = Math.Clamp(length - (i * 8), 0, 8);
            b[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(b);
    }
}
