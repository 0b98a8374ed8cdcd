using System.Globalization;
using System.Text.Json.Nodes;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mvccpb;
using Twill.KubeApi.Resources;

namespace Twill.KubeApi.Storage;

/// <summary>What a list (or the initial state of a watch) selects.</summary>
internal sealed record ListOptions(LabelSelector Labels, FieldSelector Fields, long Limit = 0, string? Continue = null, string? ResourceVersion = null, string? ResourceVersionMatch = null)
{
    public bool Filters => !Labels.IsEverything || !Fields.IsEverything;

    public bool Matches(JsonObject obj) => Labels.Matches(obj) && Fields.Matches(obj);
}

/// <summary>
/// kube-apiserver's generic registry store over its etcd3 storage, for one resource: objects are JSON
/// at <c>&lt;prefix&gt;/&lt;resource&gt;/[&lt;namespace&gt;/]&lt;name&gt;</c>, an object's resourceVersion is its key's
/// mod revision, a list's is the revision it was read at, updates are compare-and-swap on the mod
/// revision (GuaranteedUpdate), and a revision etcd has compacted away is 410 Expired.
/// </summary>
internal sealed partial class RegistryStore(EtcdStorage etcd, string prefix, ResourceKind kind)
{
    public ResourceKind Kind { get; } = kind;

    public async Task<JsonObject> GetAsync(string ns, string name, CancellationToken cancellationToken)
    {
        KeyValue kv = await GetKvAsync(ns, name, cancellationToken).ConfigureAwait(false) ?? throw ApiError.NotFound(Kind.Resource, name);
        return Decode(kv);
    }

    private async Task<KeyValue?> GetKvAsync(string ns, string name, CancellationToken cancellationToken)
    {
        RangeResponse r = await Call(() => etcd.RangeAsync(new RangeRequest { Key = EtcdStorage.Bytes(Kind.Key(prefix, ns, name)) }, cancellationToken)).ConfigureAwait(false);
        return r.Kvs.Count > 0 ? r.Kvs[0] : null;
    }

    /// <summary>A list: every object under the directory (or one page of it) at one revision, filtered by the selectors.</summary>
    public async Task<JsonObject> ListAsync(string ns, ListOptions options, CancellationToken cancellationToken)
    {
        string dir = Kind.Directory(prefix, ns);
        ByteString end = EtcdStorage.PrefixEnd(dir);
        long revision = 0;
        string startKey = dir;
        bool continuing = !string.IsNullOrEmpty(options.Continue);
        if (continuing)
        {
            if (!string.IsNullOrEmpty(options.ResourceVersion) && options.ResourceVersion != "0")
            {
                throw ApiError.BadRequest("specifying resource version is not allowed when using continue");
            }
            ContinueToken token = ContinueToken.Decode(options.Continue!);
            revision = token.Revision;
            startKey = dir + token.Start;
        }
        else if (options.ResourceVersionMatch == "Exact")
        {
            revision = ParseResourceVersion(options.ResourceVersion);
            if (revision == 0)
            {
                throw ApiError.BadRequest("resourceVersionMatch: Exact requires a resourceVersion other than \"0\"");
            }
        }
        else if (!string.IsNullOrEmpty(options.ResourceVersionMatch) && options.ResourceVersionMatch != "NotOlderThan")
        {
            throw ApiError.BadRequest($"resourceVersionMatch: Unsupported value: \"{options.ResourceVersionMatch}\": supported values: \"Exact\", \"NotOlderThan\", \"\"");
        }
        else
        {
            ParseResourceVersion(options.ResourceVersion);
        }
        // resourceVersion=0 is served from kube-apiserver's watch cache, which ignores the limit.
        long limit = options.ResourceVersion == "0" && !continuing ? 0 : Math.Max(0, options.Limit);

        JsonArray items = [];
        string? nextStart = null;
        long? remaining = null;
        long pageSize = limit;
        while (true)
        {
            RangeRequest request = new() { Key = EtcdStorage.Bytes(startKey), RangeEnd = end, Revision = revision };
            if (pageSize > 0)
            {
                request.Limit = pageSize;
            }
            RangeResponse page;
            try
            {
                page = await Call(() => etcd.RangeAsync(request, cancellationToken)).ConfigureAwait(false);
            }
            catch (RpcException e) when (EtcdStorage.IsCompacted(e))
            {
                throw ApiError.Expired(continuing ? "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter." : "The resourceVersion for the provided list is too old.");
            }
            catch (RpcException e) when (EtcdStorage.IsFutureRevision(e))
            {
                throw new ApiError(504, "Timeout", $"Too large resource version: {revision}, current: unknown", new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ResourceVersionTooLarge", ["message"] = "Too large resource version" }), ["retryAfterSeconds"] = 1 });
            }
            if (revision == 0)
            {
                revision = page.Header.Revision;
            }
            bool full = false;
            int consumed = 0;
            foreach (KeyValue kv in page.Kvs)
            {
                consumed++;
                JsonObject obj = Decode(kv);
                if (!options.Matches(obj))
                {
                    continue;
                }
                obj.Remove("kind");
                obj.Remove("apiVersion");
                items.Add((JsonNode)obj);
                if (limit > 0 && items.Count >= limit)
                {
                    full = true;
                    break;
                }
            }
            bool more = page.More || consumed < page.Kvs.Count;
            if (page.Kvs.Count > 0)
            {
                string lastKey = page.Kvs[consumed - 1].Key.ToStringUtf8();
                startKey = lastKey + "\0";
            }
            if (full || !more || limit == 0)
            {
                if (more && limit > 0)
                {
                    nextStart = startKey[dir.Length..];
                    if (!options.Filters)
                    {
                        remaining = page.Count - consumed;
                    }
                }
                break;
            }
            // Filtering left the page short: read on, in growing pages, as the etcd3 store does.
            pageSize = Math.Min(pageSize * 2, 10_000);
        }

        JsonObject listMeta = new() { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) };
        if (nextStart is not null)
        {
            listMeta["continue"] = new ContinueToken(revision, nextStart).Encode();
            if (remaining is long r)
            {
                listMeta["remainingItemCount"] = r;
            }
        }
        return new JsonObject
        {
            ["kind"] = Kind.ListKind,
            ["apiVersion"] = Kind.ApiVersion,
            ["metadata"] = listMeta,
            ["items"] = items,
        };
    }

    /// <summary>Create: BeforeCreate (namespace, name, uid, creationTimestamp, strategy, validation) then a put only if the key does not exist.</summary>
    public async Task<JsonObject> CreateAsync(string ns, JsonObject obj, bool dryRun, CancellationToken cancellationToken)
    {
        CheckTypeMeta(obj);
        JsonObject meta = Meta.Metadata(obj);
        SetNamespace(meta, ns);
        if (Meta.Str(meta, "resourceVersion") is { Length: > 0 })
        {
            throw ApiError.BadRequest("resourceVersion should not be set on objects to be created");
        }
        string name = Meta.Str(meta, "name") ?? "";
        if (name.Length == 0 && Meta.Str(meta, "generateName") is { Length: > 0 } generate)
        {
            name = generate + RandomSuffix();
            meta["name"] = name;
        }
        meta["uid"] = Guid.NewGuid().ToString("D");
        meta["creationTimestamp"] = Meta.Now();
        meta.Remove("deletionTimestamp");
        meta.Remove("deletionGracePeriodSeconds");
        meta.Remove("managedFields");
        meta.Remove("selfLink");
        Kind.PrepareForCreate(obj);
        Kind.Default(obj);
        List<FieldError> errors = [];
        ValidateName(name, errors);
        Kind.Validate(obj, errors);
        if (errors.Count > 0)
        {
            throw ApiError.Invalid(Kind.Kind, name, errors);
        }
        string key = Kind.Key(prefix, ns, name);
        ByteString value = Encode(obj);
        if (dryRun)
        {
            KeyValue? existing = await GetKvAsync(ns, name, cancellationToken).ConfigureAwait(false);
            return existing is not null ? throw ApiError.AlreadyExists(Kind.Resource, name) : obj;
        }
        TxnRequest txn = new()
        {
            Compare = { new Compare { Key = EtcdStorage.Bytes(key), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = EtcdStorage.Bytes(key), Value = value } } },
        };
        TxnResponse response = await Call(() => etcd.TxnAsync(txn, cancellationToken)).ConfigureAwait(false);
        if (!response.Succeeded)
        {
            throw ApiError.AlreadyExists(Kind.Resource, name);
        }
        Meta.SetResourceVersion(obj, response.Header.Revision);
        return obj;
    }

    /// <summary>
    /// GuaranteedUpdate: read, transform, check the resourceVersion precondition the new object carries,
    /// apply the strategy, then compare-and-swap on the mod revision, again from the read on a race.
    /// An update that changes nothing writes nothing and keeps the resourceVersion.
    /// </summary>
    public async Task<JsonObject> UpdateAsync(string ns, string name, Func<JsonObject, JsonObject> transform, bool status, bool dryRun, CancellationToken cancellationToken)
    {
        while (true)
        {
            KeyValue kv = await GetKvAsync(ns, name, cancellationToken).ConfigureAwait(false) ?? throw ApiError.NotFound(Kind.Resource, name);
            JsonObject current = Decode(kv);
            JsonObject updated = transform((JsonObject)current.DeepClone());
            CheckTypeMeta(updated);
            string wanted = Meta.ResourceVersion(updated);
            if (wanted.Length > 0 && wanted != Meta.ResourceVersion(current))
            {
                ParseResourceVersion(wanted);
                throw ApiError.StaleResourceVersion(Kind.Resource, name);
            }
            JsonObject meta = Meta.Metadata(updated);
            JsonObject oldMeta = Meta.Metadata(current);
            List<FieldError> errors = [];
            if (Meta.Str(meta, "uid") is not { Length: > 0 })
            {
                meta["uid"] = oldMeta["uid"]?.DeepClone();
            }
            foreach (string immutable in new[] { "name", "uid" })
            {
                if (Meta.Str(meta, immutable) != Meta.Str(oldMeta, immutable))
                {
                    errors.Add(FieldError.InvalidValue("metadata." + immutable, Meta.Str(meta, immutable), "field is immutable"));
                }
            }
            SetNamespace(meta, ns);
            // BeforeUpdate ignores changes to the creation and deletion timestamps.
            meta["creationTimestamp"] = oldMeta["creationTimestamp"]?.DeepClone();
            meta.Remove("deletionTimestamp");
            if (oldMeta["deletionTimestamp"] is JsonNode deletion)
            {
                meta["deletionTimestamp"] = deletion.DeepClone();
            }
            meta.Remove("managedFields");
            meta.Remove("selfLink");
            if (status)
            {
                Kind.PrepareForStatusUpdate(updated, current);
            }
            else
            {
                Kind.PrepareForUpdate(updated, current);
            }
            Kind.Default(updated);
            Kind.ValidateUpdate(updated, current, errors);
            if (errors.Count > 0)
            {
                throw ApiError.Invalid(Kind.Kind, name, errors);
            }
            ByteString value = Encode(updated);
            // kube-apiserver compares the encodings, which are canonical there (Go field order); ours keep the
            // order fields arrived in, so compare as JSON values.
            if (value.Equals(Encode(current)) || JsonNode.DeepEquals(JsonNode.Parse(value.Span), JsonNode.Parse(Encode(current).Span)))
            {
                return current;
            }
            if (dryRun)
            {
                return updated;
            }
            string key = Kind.Key(prefix, ns, name);
            TxnRequest txn = new()
            {
                Compare = { new Compare { Key = EtcdStorage.Bytes(key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = kv.ModRevision } },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = EtcdStorage.Bytes(key), Value = value } } },
            };
            TxnResponse response = await Call(() => etcd.TxnAsync(txn, cancellationToken)).ConfigureAwait(false);
            if (response.Succeeded)
            {
                Meta.SetResourceVersion(updated, response.Header.Revision);
                return updated;
            }
        }
    }

    /// <summary>Delete with DeleteOptions' preconditions (uid, resourceVersion); returns the object as it was.</summary>
    public async Task<JsonObject> DeleteAsync(string ns, string name, string? uidPrecondition, string? rvPrecondition, bool dryRun, CancellationToken cancellationToken)
    {
        while (true)
        {
            KeyValue kv = await GetKvAsync(ns, name, cancellationToken).ConfigureAwait(false) ?? throw ApiError.NotFound(Kind.Resource, name);
            JsonObject current = Decode(kv);
            string uid = Meta.Str(Meta.Metadata(current), "uid") ?? "";
            if (!string.IsNullOrEmpty(uidPrecondition) && uidPrecondition != uid)
            {
                throw ApiError.Conflict(Kind.Resource, name, $"Precondition failed: UID in precondition: {uidPrecondition}, UID in object meta: {uid}");
            }
            if (!string.IsNullOrEmpty(rvPrecondition) && rvPrecondition != Meta.ResourceVersion(current))
            {
                throw ApiError.Conflict(Kind.Resource, name, $"Precondition failed: ResourceVersion in precondition: {rvPrecondition}, ResourceVersion in object meta: {Meta.ResourceVersion(current)}");
            }
            if (dryRun)
            {
                return current;
            }
            string key = Kind.Key(prefix, ns, name);
            TxnRequest txn = new()
            {
                Compare = { new Compare { Key = EtcdStorage.Bytes(key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = kv.ModRevision } },
                Success = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = EtcdStorage.Bytes(key) } } },
            };
            TxnResponse response = await Call(() => etcd.TxnAsync(txn, cancellationToken)).ConfigureAwait(false);
            if (response.Succeeded)
            {
                return current;
            }
        }
    }
}
