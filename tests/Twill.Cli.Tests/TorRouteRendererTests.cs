using System.Net;
using Twill.Leases.Store;

namespace Twill.Cli.Tests;

/// <summary>The pure renderer of <c>twill tor routes</c>, held to the hand-written fixtures of each vendor's syntax.</summary>
public class TorRouteRendererTests
{
    public static TheoryData<string> Formats => [.. TorFixtures.Formats];

    private static List<TorRoute> FixtureRoutes(List<string>? warnings = null)
    {
        LeaseListing listing = TorFixtures.Listing(DateTimeOffset.UtcNow.AddHours(1));
        return [.. TorCommand.Current(listing, w => warnings?.Add(w)).Values.SelectMany(r => r)];
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Add_FixtureLeases_MatchFixture(string format)
    {
        IReadOnlyList<string> lines = TorRouteRenderer.Add(TorRouteRenderer.ParseFormat(format), FixtureRoutes());

        Assert.Equal(TorFixtures.Lines($"routes.{format}.txt"), lines);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Remove_FixtureLeases_MatchFixture(string format)
    {
        IReadOnlyList<string> lines = TorRouteRenderer.Remove(TorRouteRenderer.ParseFormat(format), FixtureRoutes());

        Assert.Equal(TorFixtures.Lines($"remove.{format}.txt"), lines);
    }

    [Fact]
    public void Current_CorruptAndExpiredRecords_NoRouteAndTheCorruptOneNamed()
    {
        List<string> warnings = [];
        LeaseListing listing = new(
        [
            new LeaseRecord("10.244.9.0-24", "{not json", DateTimeOffset.UtcNow.AddHours(1), 1),
            new LeaseRecord("10.244.8.0-24", """{"PublicIP":"198.51.100.18","PublicIPv6":null,"BackendType":"bgp"}""", DateTimeOffset.UtcNow.AddSeconds(-1), 2),
            new LeaseRecord("10.244.7.0-24", """{"PublicIP":"0.0.0.0","PublicIPv6":null,"BackendType":"bgp"}""", DateTimeOffset.UtcNow.AddHours(1), 3),
        ], 3);

        Dictionary<string, IReadOnlyList<TorRoute>> routes = TorCommand.Current(listing, warnings.Add);

        Assert.Empty(routes.Values.SelectMany(r => r));
        Assert.Contains(warnings, w => w.Contains("10.244.9.0-24", StringComparison.Ordinal) && w.Contains("unreadable", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("10.244.7.0-24 has no PublicIP", StringComparison.Ordinal));
        Assert.DoesNotContain(warnings, w => w.Contains("10.244.8.0-24", StringComparison.Ordinal));
    }

    [Fact]
    public void After_PutDeleteResync_RoutesFollowTheStore()
    {
        DateTimeOffset later = DateTimeOffset.UtcNow.AddHours(1);
        LeaseRecord a = new("10.244.1.0-24", """{"PublicIP":"198.51.100.11","PublicIPv6":null,"BackendType":"bgp"}""", later, 1);
        LeaseRecord moved = a with { Value = """{"PublicIP":"198.51.100.31","PublicIPv6":null,"BackendType":"bgp"}""", Revision = 2 };
        Dictionary<string, IReadOnlyList<TorRoute>> start = TorCommand.Current(new LeaseListing([a], 1), _ => { });

        Dictionary<string, IReadOnlyList<TorRoute>> afterPut = TorCommand.After(start, new LeaseChange(LeaseChangeKind.Put, a.Key, moved, null, 2), _ => { });
        Dictionary<string, IReadOnlyList<TorRoute>> afterDelete = TorCommand.After(afterPut, new LeaseChange(LeaseChangeKind.Delete, a.Key, null, null, 3), _ => { });
        Dictionary<string, IReadOnlyList<TorRoute>> afterResync = TorCommand.After(afterDelete, new LeaseChange(LeaseChangeKind.Resync, "", null, new LeaseListing([a], 4), 4), _ => { });

        Assert.Equal(IPAddress.Parse("198.51.100.11"), Assert.Single(start[a.Key]).NextHop);
        Assert.Equal(IPAddress.Parse("198.51.100.31"), Assert.Single(afterPut[a.Key]).NextHop);
        Assert.Equal(IPAddress.Parse("198.51.100.11"), Assert.Single(start[a.Key]).NextHop);
        Assert.Empty(afterDelete);
        Assert.Equal(IPAddress.Parse("198.51.100.11"), Assert.Single(afterResync[a.Key]).NextHop);
    }

    [Theory]
    [InlineData("0.0.0.0", 0, "0.0.0.0")]
    [InlineData("10.244.0.0", 16, "255.255.0.0")]
    [InlineData("10.244.2.0", 23, "255.255.254.0")]
    [InlineData("10.244.2.7", 32, "255.255.255.255")]
    public void Line_Ios_DottedMask(string network, int prefixLength, string mask)
    {
        TorRoute route = new(new IPNetwork(IPAddress.Parse(network), prefixLength), IPAddress.Parse("198.51.100.11"));

        Assert.Equal($"ip route {network} {mask} 198.51.100.11", TorRouteRenderer.Line(TorRouteFormat.Ios, route, add: true));
    }

    [Fact]
    public void ParseFormat_Unknown_NamesTheValueAndTheChoices()
    {
        FormatException e = Assert.Throws<FormatException>(() => TorRouteRenderer.ParseFormat("cumulus"));

        Assert.Contains("'cumulus'", e.Message, StringComparison.Ordinal);
        Assert.Contains("junos", e.Message, StringComparison.Ordinal);
    }
}
