using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Twill.Leases.Store;

/// <summary>
/// One lease record as the file store writes it: <c>{"key":...,"value":...,"expiration":"…Z","revision":N}</c>.
/// </summary>
internal static class FileLeaseRecordCodec
{
    public static byte[] Encode(LeaseRecord record)
    {
        using MemoryStream stream = new();
        // Relaxed escaping keeps '&' and the JSON value readable in the file (it is not HTML).
        using (Utf8JsonWriter w = new(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("key", record.Key);
            w.WriteString("value", record.Value);
            w.WriteString("expiration", record.Expiration.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteNumber("revision", record.Revision);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    public static LeaseRecord? Decode(byte[] bytes)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("key", out JsonElement key) && key.ValueKind == JsonValueKind.String
                && root.TryGetProperty("value", out JsonElement value) && value.ValueKind == JsonValueKind.String
                && root.TryGetProperty("expiration", out JsonElement expiration) && expiration.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(expiration.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out DateTimeOffset when)
                && root.TryGetProperty("revision", out JsonElement revision) && revision.TryGetInt64(out long rev))
            {
                return new LeaseRecord(key.GetString()!, value.GetString()!, when, rev);
            }
            return null;
        }
        // InvalidOperationException: a key or value that is not valid UTF-8, found only when GetString reads it.
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
