using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Twill.KubeApi.Patching;

/// <summary>The three patch types of PATCH requests, applied to an object's JSON as kube-apiserver applies them.</summary>
internal static class Patches
{
    public const string Merge = "application/merge-patch+json";
    public const string Strategic = "application/strategic-merge-patch+json";
    public const string Json = "application/json-patch+json";

    /// <summary>Applies <paramref name="body"/> of media type <paramref name="contentType"/>; the result replaces the object.</summary>
    public static JsonObject Apply(string contentType, JsonObject target, ReadOnlySpan<byte> body, IReadOnlyDictionary<string, string?> mergeLists)
    {
        JsonNode? patch;
        try
        {
            patch = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"error decoding patch: {e.Message}");
        }
        JsonNode? result = contentType switch
        {
            Merge => patch is JsonObject m ? MergePatch(target, m) : throw ApiError.BadRequest("json: cannot unmarshal the merge patch: it must be a JSON object"),
            Strategic => patch is JsonObject s ? StrategicMerge(target, s, "", mergeLists) : throw ApiError.BadRequest("unable to unmarshal the strategic merge patch: it must be a JSON object"),
            Json => JsonPatch(target, patch as JsonArray ?? throw ApiError.BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")),
            _ => throw ApiError.UnsupportedMediaType(contentType),
        };
        return result as JsonObject ?? throw ApiError.UnprocessablePatch("the patch leaves no object");
    }

    /// <summary>RFC 7386: objects merge recursively, null deletes, anything else replaces.</summary>
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p)
        {
            return patch?.DeepClone();
        }
        JsonObject t = target as JsonObject ?? [];
        foreach ((string key, JsonNode? value) in p)
        {
            if (value is null)
            {
                t.Remove(key);
                continue;
            }
            JsonNode? existing = t[key];
            JsonNode? merged = MergePatch(existing, value);
            if (!ReferenceEquals(merged, existing))
            {
                t[key] = merged;
            }
        }
        return t;
    }

    // ---- strategic merge patch --------------------------------------------------------------------

    private const string PatchDirective = "$patch";
    private const string RetainKeys = "$retainKeys";
    private const string DeleteFromPrimitiveList = "$deleteFromPrimitiveList/";
    private const string SetElementOrder = "$setElementOrder/";

    /// <summary>
    /// Strategic merge for the fields of our kinds: maps merge, lists named in <paramref name="mergeLists"/>
    /// merge by their key (or as sets of primitives), every other list is replaced; <c>$patch: replace|delete</c>,
    /// <c>$retainKeys</c>, <c>$deleteFromPrimitiveList/…</c> and <c>$setElementOrder/…</c> are honoured.
    /// </summary>
    public static JsonObject? StrategicMerge(JsonObject original, JsonObject patch, string path, IReadOnlyDictionary<string, string?> mergeLists)
    {
        string? directive = patch[PatchDirective] is JsonValue d && d.TryGetValue(out string? s) ? s : null;
        switch (directive)
        {
            case null:
                break;
            case "replace":
                return (JsonObject)Clean(patch)!;
            case "delete":
                return null;
            case "merge":
                break;
            default:
                throw ApiError.BadRequest($"Unknown patch type: {directive} in map: {patch.ToJsonString()}");
        }
        if (patch[RetainKeys] is JsonArray retain)
        {
            HashSet<string> keep = [.. retain.Select(k => k?.ToString() ?? "")];
            foreach (string k in original.Select(p => p.Key).Where(k => !keep.Contains(k)).ToList())
            {
                original.Remove(k);
            }
        }
        foreach ((string key, JsonNode? value) in patch)
        {
            if (key.StartsWith(DeleteFromPrimitiveList, StringComparison.Ordinal))
            {
                string field = key[DeleteFromPrimitiveList.Length..];
                if (original[field] is JsonArray list && value is JsonArray remove)
                {
                    foreach (JsonNode? gone in list.Where(item => remove.Any(r => JsonNode.DeepEquals(r, item))).ToList())
                    {
                        list.Remove(gone);
                    }
                }
                continue;
            }
            if (key.StartsWith('$'))
            {
                // $patch, $retainKeys (above) and $setElementOrder: order is not kept by this stand-in.
                _ = SetElementOrder;
                continue;
            }
            string childPath = path.Length == 0 ? key : path + "." + key;
            JsonNode? existing = original[key];
            if (value is null)
            {
                original.Remove(key);
            }
            else if (value is JsonObject childPatch && existing is JsonObject childOriginal)
            {
                JsonObject? merged = StrategicMerge(childOriginal, childPatch, childPath, mergeLists);
                if (merged is null)
                {
                    original.Remove(key);
                }
                else if (!ReferenceEquals(merged, childOriginal))
                {
                    original[key] = merged;
                }
            }
            else if (value is JsonArray listPatch && mergeLists.TryGetValue(childPath, out string? mergeKey))
            {
                original[key] = MergeList(existing as JsonArray ?? [], listPatch, childPath, mergeKey, mergeLists);
            }
            else if (value is JsonObject o && o[PatchDirective] is JsonValue dv && dv.ToString() == "delete")
            {
                original.Remove(key);
            }
            else
            {
                original[key] = Clean(value);
            }
        }
        return original;
    }

    private static JsonArray MergeList(JsonArray original, JsonArray patch, string path, string? mergeKey, IReadOnlyDictionary<string, string?> mergeLists)
    {
        if (patch.OfType<JsonObject>().Any(e => e[PatchDirective]?.ToString() == "replace"))
        {
            return [.. patch.Where(e => !(e is JsonObject o && o[PatchDirective]?.ToString() == "replace")).Select(Clean)];
        }
        JsonArray result = [.. original.Select(e => e?.DeepClone())];
        if (mergeKey is null)
        {
            foreach (JsonNode? item in patch)
            {
                if (item is JsonObject)
                {
                    throw ApiError.BadRequest($"{path}: a list of primitives cannot be patched with an object");
                }
                if (!result.Any(e => JsonNode.DeepEquals(e, item)))
                {
                    result.Add(item?.DeepClone());
                }
            }
            return result;
        }
        foreach (JsonNode? item in patch)
        {
            if (item is not JsonObject element)
            {
                throw ApiError.BadRequest($"{path}: a list merged by \"{mergeKey}\" can only be patched with objects");
            }
            JsonNode? keyValue = element[mergeKey];
            if (keyValue is null)
            {
                throw ApiError.BadRequest($"map: {element.ToJsonString()} does not contain declared merge key: {mergeKey}");
            }
            JsonObject? match = result.OfType<JsonObject>().FirstOrDefault(e => JsonNode.DeepEquals(e[mergeKey], keyValue));
            if (element[PatchDirective]?.ToString() == "delete")
            {
                if (match is not null)
                {
                    result.Remove(match);
                }
                continue;
            }
            if (match is null)
            {
                result.Add(Clean(element));
                continue;
            }
            JsonObject? merged = StrategicMerge(match, element, path, mergeLists);
            if (merged is null)
            {
                result.Remove(match);
            }
        }
        return result;
    }

    /// <summary>A patch value as it lands in the object: directives and null fields dropped.</summary>
    private static JsonNode? Clean(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                JsonObject copy = [];
                foreach ((string k, JsonNode? v) in o)
                {
                    if (k.StartsWith('$') || v is null)
                    {
                        continue;
                    }
                    copy[k] = Clean(v);
                }
                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(Clean)]);
            default:
                return node?.DeepClone();
        }
    }

    // ---- JSON patch -------------------------------------------------------------------------------

    /// <summary>RFC 6902 operations in order; a failing one rejects the whole patch (422), a malformed one is 400.</summary>
    public static JsonNode? JsonPatch(JsonNode target, JsonArray operations)
    {
        JsonNode? doc = target;
        for (int i = 0; i < operations.Count; i++)
        {
            if (operations[i] is not JsonObject op || op["op"] is not JsonValue opValue || !opValue.TryGetValue(out string? name))
            {
                throw ApiError.BadRequest($"json patch operation {i}: must be an object with a string \"op\"");
            }
            string path = Pointer(op, "path", i);
            switch (name)
            {
                case "add":
                    doc = Add(doc, path, Value(op, i));
                    break;
                case "remove":
                    doc = Remove(doc, path, out _);
                    break;
                case "replace":
                    doc = Remove(doc, path, out _);
                    doc = Add(doc, path, Value(op, i));
                    break;
                case "move":
                    {
                        string from = Pointer(op, "from", i);
                        doc = Remove(doc, from, out JsonNode? moved);
                        doc = Add(doc, path, moved);
                        break;
                    }
                case "copy":
                    doc = Add(doc, path, Get(doc, Pointer(op, "from", i))?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(doc, path), op["value"]))
                    {
                        throw ApiError.UnprocessablePatch($"the server rejected our request due to an error in our request: testing value {path} failed: test failed");
                    }
                    break;
                default:
                    throw ApiError.BadRequest($"Unexpected kind: {name}");
            }
        }
        return doc;
    }

    private static string Pointer(JsonObject op, string field, int index) =>
        op[field] is JsonValue v && v.TryGetValue(out string? s) && (s.Length == 0 || s[0] == '/')
            ? s
            : throw ApiError.BadRequest($"json patch operation {index}: \"{field}\" must be a JSON pointer");

    private static JsonNode? Value(JsonObject op, int index) =>
        op.ContainsKey("value") ? op["value"]?.DeepClone() : throw ApiError.BadRequest($"json patch operation {index}: missing value");

    private static string[] Tokens(string pointer) =>
        pointer.Length == 0 ? [] : [.. pointer[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];

    private static ApiError Missing(string pointer) => ApiError.UnprocessablePatch($"the server rejected our request due to an error in our request: doc is missing path: \"{pointer}\": missing value");

    private static JsonNode? Get(JsonNode? doc, string pointer)
    {
        JsonNode? node = doc;
        foreach (string t in Tokens(pointer))
        {
            node = node switch
            {
                JsonObject o when o.TryGetPropertyValue(t, out JsonNode? child) => child,
                JsonArray a when int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < a.Count => a[i],
                _ => throw Missing(pointer),
            };
        }
        return node;
    }

    private static (JsonNode Parent, string Last) Parent(JsonNode? doc, string pointer)
    {
        string[] tokens = Tokens(pointer);
        string parentPointer = string.Concat(tokens[..^1].Select(t => "/" + t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)));
        JsonNode parent = Get(doc, parentPointer) ?? throw Missing(pointer);
        return (parent, tokens[^1]);
    }

    private static JsonNode? Add(JsonNode? doc, string pointer, JsonNode? value)
    {
        if (pointer.Length == 0)
        {
            return value;
        }
        (JsonNode parent, string last) = Parent(doc, pointer);
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw ApiError.UnprocessablePatch($"the server rejected our request due to an error in our request: add operation does not apply: doc is missing path: \"{pointer}\"");
        }
        return doc;
    }

    private static JsonNode? Remove(JsonNode? doc, string pointer, out JsonNode? removed)
    {
        if (pointer.Length == 0)
        {
            removed = doc;
            return null;
        }
        (JsonNode parent, string last) = Parent(doc, pointer);
        switch (parent)
        {
            case JsonObject o when o.TryGetPropertyValue(last, out JsonNode? child):
                o.Remove(last);
                removed = child;
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < a.Count:
                removed = a[i];
                a.RemoveAt(i);
                break;
            default:
                throw ApiError.UnprocessablePatch($"the server rejected our request due to an error in our request: remove operation does not apply: doc is missing path: \"{pointer}\": missing value");
        }
        return doc;
    }
}
