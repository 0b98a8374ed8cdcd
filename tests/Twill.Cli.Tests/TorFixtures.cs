using Twill.Leases.Store;

namespace Twill.Cli.Tests;

/// <summary>The hand-written <c>twill tor routes</c> fixtures (tests/fixtures/tor): the lease records and each format's expected lines.</summary>
internal static class TorFixtures
{
    public static readonly string[] Formats = ["linux", "frr", "eos", "nxos", "ios", "junos"];

    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tor", name);

    /// <summary>A fixture's lines, without blank lines.</summary>
    public static string[] Lines(string name) =>
        [.. File.ReadAllLines(PathOf(name)).Where(l => l.Length > 0)];

    /// <summary>leases.txt as (key, value) pairs: "key value" per line, '#' lines are comments.</summary>
    public static IReadOnlyList<(string Key, string Value)> Leases() =>
        [.. Lines("leases.txt").Where(l => !l.StartsWith('#')).Select(l => (l[..l.IndexOf(' ', StringComparison.Ordinal)], l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]))];

    public static LeaseListing Listing(DateTimeOffset expiration) =>
        new([.. Leases().Select((l, i) => new LeaseRecord(l.Key, l.Value, expiration, i + 1))], Leases().Count);
}
