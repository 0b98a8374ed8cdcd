using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Mvccpb;
using Twill.KubeApi.Resources;

namespace Twill.KubeApi.Storage;

/// <summary>The stored form of objects (decode, encode) and the checks every write makes (type meta, namespace, name).</summary>
internal sealed partial class RegistryStore
{
    /// <summary>An object as the API shows it: the stored JSON with its key's mod revision as resourceVersion.</summary>
    public JsonObject Decode(KeyValue kv) => Decode(kv.Value, kv.ModRevision, kv.Key);

    private JsonObject Decode(ByteString value, long revision, ByteString key)
    {
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(value.Span) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException e)
        {
            bool protobuf = value.Length >= 4 && value.Span[..4].SequenceEqual("k8s\0"u8);
            throw ApiError.Internal($"object at {key.ToStringUtf8()} is not JSON{(protobuf ? " (it is kube-apiserver's protobuf encoding; this stand-in stores JSON)" : "")}: {e.Message}");
        }
        obj["apiVersion"] = Kind.ApiVersion;
        obj["kind"] = Kind.Kind;
        Meta.SetResourceVersion(obj, revision);
        return obj;
    }

    /// <summary>The stored form: TypeMeta first, no resourceVersion (PrepareObjectForStorage), no selfLink.</summary>
    private ByteString Encode(JsonObject obj)
    {
        JsonObject stored = new() { ["kind"] = Kind.Kind, ["apiVersion"] = Kind.ApiVersion };
        foreach ((string k, JsonNode? v) in obj)
        {
            if (k is "kind" or "apiVersion")
            {
                continue;
            }
            if (k == "metadata" && v is JsonObject meta)
            {
                JsonObject m = (JsonObject)meta.DeepClone();
                m.Remove("resourceVersion");
                m.Remove("selfLink");
                stored[k] = m;
                continue;
            }
            stored[k] = v?.DeepClone();
        }
        return ByteString.CopyFromUtf8(stored.ToJsonString(Json.Options));
    }

    /// <summary>
    /// The request's namespace goes into a namespaced object (a different one in the body is 400, as
    /// kube-apiserver's rest.EnsureObjectNamespaceMatchesRequestNamespace answers); a cluster-scoped one has none.
    /// </summary>
    private void SetNamespace(JsonObject meta, string ns)
    {
        if (!Kind.Namespaced)
        {
            meta.Remove("namespace");
            return;
        }
        string bodyNs = Meta.Str(meta, "namespace") ?? "";
        if (bodyNs.Length > 0 && bodyNs != ns)
        {
            throw ApiError.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }
        meta["namespace"] = ns;
    }

    private void CheckTypeMeta(JsonObject obj)
    {
        string? apiVersion = Meta.Str(obj, "apiVersion");
        if (apiVersion is { Length: > 0 } && apiVersion != Kind.ApiVersion)
        {
            throw ApiError.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({Kind.ApiVersion})");
        }
        string? kindName = Meta.Str(obj, "kind");
        if (kindName is { Length: > 0 } && kindName != Kind.Kind)
        {
            throw ApiError.BadRequest($"the kind in the data ({kindName}) does not match the expected kind ({Kind.Kind})");
        }
        if (obj["metadata"] is not null and not JsonObject)
        {
            throw ApiError.BadRequest("metadata: must be an object");
        }
    }

    /// <summary>Parses a resourceVersion parameter: "" and "0" mean none; anything else must be a revision.</summary>
    public static long ParseResourceVersion(string? rv)
    {
        if (string.IsNullOrEmpty(rv))
        {
            return 0;
        }
        if (!long.TryParse(rv, NumberStyles.None, CultureInfo.InvariantCulture, out long revision))
        {
            throw ApiError.BadRequest($"invalid resource version: \"{rv}\"");
        }
        return revision;
    }

    // apimachinery's validation.IsDNS1123Subdomain, which Node and Pod names must be.
    private static void ValidateName(string name, List<FieldError> errors)
    {
        if (name.Length == 0)
        {
            errors.Add(FieldError.Required("metadata.name", "name or generateName is required"));
            return;
        }
        bool valid = name.Length <= 253 && name.Split('.').All(label =>
            label.Length > 0 && (char.IsAsciiLetterLower(label[0]) || char.IsAsciiDigit(label[0]))
            && (char.IsAsciiLetterLower(label[^1]) || char.IsAsciiDigit(label[^1]))
            && label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'));
        if (!valid)
        {
            errors.Add(FieldError.InvalidValue("metadata.name", name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
        }
    }

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(alphabet.Length)];
            }
        });
    }

    /// <summary>etcd failures other than compaction become 500s naming etcd, as kube-apiserver's storage errors do.</summary>
    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RpcException e) when (!EtcdStorage.IsCompacted(e) && !EtcdStorage.IsFutureRevision(e) && e.StatusCode != StatusCode.Cancelled)
        {
            throw ApiError.Internal($"etcd: {e.Status.Detail}");
        }
    }
}
