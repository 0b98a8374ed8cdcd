using System.Text;
using Twill.Leases.Store;

namespace Twill.Leases.Tests;

/// <summary>Records AFL++ found (make fuzz TARGET=lease, fuzz/README.md) that escaped the file store's reader.</summary>
public sealed class FuzzFindingTests
{
    private static byte[] Record(string before, byte bad, string after) => [.. Encoding.UTF8.GetBytes(before), bad, .. Encoding.UTF8.GetBytes(after)];

    // JsonDocument checks a string's UTF-8 only in GetString: these threw InvalidOperationException
    // out of Decode, which the store's readers do not expect (a bad record is skipped).
    [Fact]
    public void Decode_KeyThatIsNotUtf8_IsNoRecord()
    {
        Assert.Null(FileLeaseRecordCodec.Decode(Record("{\"key\":\"10.244.3.0-24", 0xc1, "\",\"value\":\"{}\",\"expiration\":\"2026-12-07T00:00:00Z\",\"revision\":1}")));
    }

    [Fact]
    public void Decode_ValueThatIsNotUtf8_IsNoRecord()
    {
        Assert.Null(FileLeaseRecordCodec.Decode(Record("{\"key\":\"10.244.3.0-24\",\"value\":\"{\\\"PublicIP\\\":\\\"192.0.2.1", 0x83, "\\\"}\",\"expiration\":\"2026-12-07T00:00:00Z\",\"revision\":1}")));
    }

    [Fact]
    public void Decode_WellFormedRecord_StillReads()
    {
        LeaseRecord r = new("10.244.3.0-24", """{"PublicIP":"192.0.2.1"}""", DateTimeOffset.Parse("2026-12-07T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), 7);

        Assert.Equal(r, FileLeaseRecordCodec.Decode(FileLeaseRecordCodec.Encode(r)));
    }
}
