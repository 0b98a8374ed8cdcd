using System.Globalization;
using System.Text.Json;

namespace Twill.Leases.Kube;

/// <summary>
/// What the store reads of a Node: its name, resourceVersion, the annotations under Flannel's prefix
/// and its pod CIDRs. Everything else (labels, status with its images and conditions: most of a
/// kubelet-written node's ~10 KB) is skipped while parsing and never held.
/// </summary>
public sealed record NodeSummary(string Name, long ResourceVersion, IReadOnlyDictionary<string, string> Annotations, string? PodCIDR, IReadOnlyList<string> PodCIDRs)
{
    /// <summary>metadata.creationTimestamp as the API writes it (RFC 3339, UTC, so ordinal order is time order); "" when absent.</summary>
    public string Created { get; init; } = "";

    public string? Annotation(string name) => Annotations.TryGetValue(name, out string? value) ? value : null;

    /// <summary>
    /// Reads a Node object; the reader is on its StartObject and is left on its EndObject. Only
    /// annotations starting with <paramref name="annotationPrefix"/> are kept.
    /// </summary>
    public static NodeSummary Read(ref Utf8JsonReader reader, string annotationPrefix)
    {
        try
        {
            return ReadNode(ref reader, annotationPrefix);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader checks a string's UTF-8 only in GetString; every caller handles bad JSON as JsonException.
            throw new JsonException($"node: {e.Message}", e);
        }
    }

    private static NodeSummary ReadNode(ref Utf8JsonReader reader, string annotationPrefix)
    {
        Expect(ref reader, JsonTokenType.StartObject, "node");
        string name = "";
        string created = "";
        long rv = 0;
        Dictionary<string, string> annotations = new(StringComparer.Ordinal);
        string? podCidr = null;
        List<string> podCidrs = [];
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("metadata"))
            {
                if (!EnterObject(ref reader))
                {
                    continue;
                }
                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("name"))
                    {
                        name = StringValue(ref reader) ?? "";
                    }
                    else if (reader.ValueTextEquals("creationTimestamp"))
                    {
                        created = StringValue(ref reader) ?? "";
                    }
                    else if (reader.ValueTextEquals("resourceVersion"))
                    {
                        rv = ParseResourceVersion(StringValue(ref reader));
                    }
                    else if (reader.ValueTextEquals("annotations"))
                    {
                        ReadAnnotations(ref reader, annotationPrefix, annotations);
                    }
                    else
                    {
                        SkipValue(ref reader);
                    }
                }
            }
            else if (reader.ValueTextEquals("spec"))
            {
                if (!EnterObject(ref reader))
                {
                    continue;
                }
                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("podCIDR"))
                    {
                        podCidr = StringValue(ref reader);
                    }
                    else if (reader.ValueTextEquals("podCIDRs"))
                    {
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.StartArray)
                        {
                            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                            {
                                if (reader.TokenType == JsonTokenType.String)
                                {
                                    podCidrs.Add(reader.GetString()!);
                                }
                                else
                                {
                                    reader.Skip();
                                }
                            }
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                    else
                    {
                        SkipValue(ref reader);
                    }
                }
            }
            else
            {
                // status (addresses, conditions, images), kind, apiVersion: not needed.
                SkipValue(ref reader);
            }
        }
        return new NodeSummary(name, rv, annotations, podCidr, podCidrs) { Created = created };
    }

    /// <summary>Parses one Node document (a test fixture, a GET response).</summary>
    public static NodeSummary Parse(ReadOnlySpan<byte> json, string annotationPrefix)
    {
        Utf8JsonReader reader = new(json);
        reader.Read();
        return Read(ref reader, annotationPrefix);
    }

    /// <summary>The API server's resourceVersion as a number (kube-apiserver's is the etcd revision); 0 when it is not one.</summary>
    public static long ParseResourceVersion(string? text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : 0;

    private static void ReadAnnotations(ref Utf8JsonReader reader, string prefix, Dictionary<string, string> into)
    {
        if (!EnterObject(ref reader))
        {
            return;
        }
        while (NextProperty(ref reader))
        {
            string key = reader.GetString()!;
            reader.Read();
            if (key.StartsWith(prefix, StringComparison.Ordinal) && reader.TokenType == JsonTokenType.String)
            {
                into[key] = reader.GetString()!;
            }
            else
            {
                reader.Skip();
            }
        }
    }

    /// <summary>On to the next property of the object the reader is in; false at the object's end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader) => reader.Read() && reader.TokenType == JsonTokenType.PropertyName;

    /// <summary>Onto the current property's value: true when it is an object, else false with the value skipped.</summary>
    private static bool EnterObject(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            return true;
        }
        reader.Skip();
        return false;
    }

    /// <summary>The current property's value when it is a string, else null.</summary>
    private static string? StringValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
    }

    /// <summary>Past the current property's value, whatever it holds.</summary>
    private static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"{what}: expected {type}, found {reader.TokenType}");
        }
    }
}
