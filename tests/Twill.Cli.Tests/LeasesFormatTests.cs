using Twill.Leases.Store;

namespace Twill.Cli.Tests;

/// <summary>How <c>twill leases list</c> prints time to expiry, with and without a TTL.</summary>
public class LeasesFormatTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 16, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(86_340, "23h59m")]
    [InlineData(250, "4m10s")]
    [InlineData(0, "expired")]
    public void ExpiresIn_Ttl(int seconds, string expected) =>
        Assert.Equal(expected, LeasesCommand.ExpiresIn(Now.AddSeconds(seconds), Now));

    [Fact]
    public void ExpiresIn_NoTtl_IsNever() =>
        Assert.Equal("never", LeasesCommand.ExpiresIn(DateTimeOffset.MaxValue, Now));

    [Fact]
    public void ToJson_NoTtl_ExpirationNull_TtlRecordKeepsItsTime()
    {
        const string Value = """{"PublicIP":"192.0.2.13","PublicIPv6":null,"BackendType":"host-gw"}""";
        LeaseListing listing = new([new LeaseRecord("10.244.3.0-24", Value, DateTimeOffset.MaxValue, 7), new LeaseRecord("10.244.4.0-24", Value, Now.AddHours(1), 8)], 8);

        string json = LeasesCommand.ToJson(listing, Now);

        Assert.Contains("\"expiration\": null,\n    \"expiresInSeconds\": null,", json, StringComparison.Ordinal);
        Assert.Contains("\"expiration\": \"2026-12-07T17:00:00Z\",\n    \"expiresInSeconds\": 3600,", json, StringComparison.Ordinal);
    }
}
