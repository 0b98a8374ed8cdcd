using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Twill.Cni.Conformance.Harness;

/// <summary>
/// Rewrites what differs between two runs by chance and not by meaning: the node's temp dir and
/// namespace names, pod namespace paths, host-side veth names (random in the reference), MAC
/// addresses; and orders JSON keys, so that reference and ours can be compared as text.
/// </summary>
public sealed partial class Normalizer(Node node)
{
    private readonly HashSet<string> _veths = [];

    /// <summary>Learns the host-side veth names now present on the node (they vanish after DEL).</summary>
    public void LearnVeths()
    {
        foreach (JsonElement link in node.Ns.IpJson("-d", "link", "show").EnumerateArray())
        {
            if (Kind(link) == "veth")
            {
                lock (_veths)
                {
                    _veths.Add(link.GetProperty("ifname").GetString()!);
                }
            }
        }
    }

    public static string? Kind(JsonElement link) =>
        link.TryGetProperty("linkinfo", out JsonElement li) && li.TryGetProperty("info_kind", out JsonElement k) ? k.GetString() : null;

    /// <summary>Extra literal rewrites for one run (e.g. ours at 1.1.0 read as the reference's 1.0.0).</summary>
    public List<(string From, string To)> Aliases { get; } = [];

    public string Text(string s)
    {
        foreach ((string from, string to) in Aliases)
        {
            s = s.Replace(from, to, StringComparison.Ordinal);
        }
        s = s.Replace(node.Dir, "<dir>", StringComparison.Ordinal);
        foreach (Pod pod in node.Pods)
        {
            s = s.Replace(pod.Path, $"<netns:{pod.Label}>", StringComparison.Ordinal)
                 .Replace(pod.Ns.Name, $"<ns:{pod.Label}>", StringComparison.Ordinal);
        }
        s = s.Replace(node.Ns.Name, "<node>", StringComparison.Ordinal);
        lock (_veths)
        {
            foreach (string v in _veths.OrderByDescending(v => v.Length))
            {
                s = Regex.Replace(s, $@"(?<![\w-]){Regex.Escape(v)}(?![\w-])", "<veth>");
            }
        }
        return Mac().Replace(s, "<mac>");
    }

    /// <summary>A result or error object as canonical, indented JSON (keys sorted; an empty "dns" dropped).</summary>
    public string Json(JsonNode? json)
    {
        if (json is null)
        {
            return "(no JSON)";
        }
        if (DropIpVersion && json is JsonObject o && o["ips"] is JsonArray ips)
        {
            json = json.DeepClone();
            foreach (JsonNode? ip in json["ips"]!.AsArray())
            {
                (ip as JsonObject)?.Remove("version");
            }
        }
        return Text(Canonical(json));
    }

    /// <summary>Leave out ips[].version (the reference loopback omits it, which the 0.3/0.4 spec requires).</summary>
    public bool DropIpVersion { get; set; }

    public static string Canonical(JsonNode node)
    {
        using MemoryStream ms = new();
        using (Utf8JsonWriter w = new(ms, new JsonWriterOptions { Indented = true }))
        {
            Write(w, node);
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Write(Utf8JsonWriter w, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                w.WriteStartObject();
                foreach ((string k, JsonNode? v) in o.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    // The reference prints "dns": {} when it has nothing to say; absent means the same.
                    if (k == "dns" && v is JsonObject d && d.Count == 0)
                    {
                        continue;
                    }
                    w.WritePropertyName(k);
                    Write(w, v);
                }
                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                foreach (JsonNode? v in a)
                {
                    Write(w, v);
                }
                w.WriteEndArray();
                break;
            case null:
                w.WriteNullValue();
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }

    [GeneratedRegex("(?i)\\b([0-9a-f]{2}:){5}[0-9a-f]{2}\\b")]
    private static partial Regex Mac();
}
