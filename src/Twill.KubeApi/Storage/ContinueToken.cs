using System.Text.Json;

namespace Twill.KubeApi.Storage;

/// <summary>
/// The opaque <c>continue</c> of a paginated list, encoded as kube-apiserver's etcd3 store encodes it:
/// base64url (no padding) of <c>{"v":"meta.k8s.io/v1","rv":N,"start":"&lt;key after the list prefix&gt;"}</c>.
/// </summary>
internal readonly record struct ContinueToken(long Revision, string Start)
{
    private const string Version = "meta.k8s.io/v1";

    public string Encode()
    {
        using MemoryStream buffer = new();
        using (Utf8JsonWriter w = new(buffer))
        {
            w.WriteStartObject();
            w.WriteString("v", Version);
            w.WriteNumber("rv", Revision);
            w.WriteString("start", Start);
            w.WriteEndObject();
        }
        return Convert.ToBase64String(buffer.ToArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static ContinueToken Decode(string token)
    {
        try
        {
            string b64 = token.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
            using JsonDocument doc = JsonDocument.Parse(Convert.FromBase64String(b64));
            JsonElement root = doc.RootElement;
            if (root.GetProperty("v").GetString() != Version)
            {
                throw Invalid("unsupported version");
            }
            long rv = root.GetProperty("rv").GetInt64();
            string start = root.GetProperty("start").GetString() ?? "";
            if (rv == 0 || start.Length == 0)
            {
                throw Invalid("invalid resource version or start key");
            }
            if (start.Split('/').Any(p => p is ".." or "."))
            {
                throw Invalid("continue key may not contain path traversal");
            }
            return new ContinueToken(rv, start);
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw Invalid(e.Message);
        }
    }

    private static ApiError Invalid(string why) => ApiError.BadRequest($"continue key is not valid: {why}");
}
