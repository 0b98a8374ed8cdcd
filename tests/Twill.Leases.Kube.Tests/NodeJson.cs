using System.Text;
using System.Text.Json;

namespace Twill.Leases.Kube.Tests;

/// <summary>Node objects for tests, as a kubelet and flanneld leave them.</summary>
internal static class NodeJson
{
    public const string P = "flannel.alpha.coreos.com/";

    public static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", name));

    public static NodeSummary FixtureNode(string name, long rv = 1) =>
        NodeSummary.Parse(Encoding.UTF8.GetBytes(Fixture(name)), P) with { ResourceVersion = rv };

    public static Dictionary<string, string> Vxlan(string publicIP, string mac, int vni = 4096) => new()
    {
        [P + "backend-data"] = $"{{\"VNI\":{vni},\"VtepMAC\":\"{mac}\"}}",
        [P + "backend-type"] = "vxlan",
        [P + "kube-subnet-manager"] = "true",
        [P + "public-ip"] = publicIP,
    };

    /// <summary>A Node's JSON with the given annotations and pod CIDRs, and a kubelet's status (conditions, images); no resourceVersion when <paramref name="rv"/> is 0 (a create).</summary>
    public static string Json(string name, IReadOnlyDictionary<string, string>? annotations, string[] podCidrs, long rv = 1, string created = "2026-12-07T09:00:00Z", int images = 3)
    {
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream))
        {
            w.WriteStartObject();
            w.WriteString("apiVersion", "v1");
            w.WriteString("kind", "Node");
            w.WriteStartObject("metadata");
            w.WriteString("name", name);
            if (rv > 0)
            {
                w.WriteString("resourceVersion", rv.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            w.WriteString("creationTimestamp", created);
            w.WriteStartObject("labels");
            w.WriteString("kubernetes.io/hostname", name);
            w.WriteEndObject();
            w.WriteStartObject("annotations");
            w.WriteString("node.alpha.kubernetes.io/ttl", "0");
            foreach ((string k, string v) in annotations ?? new Dictionary<string, string>())
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("spec");
            if (podCidrs.Length > 0)
            {
                w.WriteString("podCIDR", podCidrs[0]);
                w.WriteStartArray("podCIDRs");
                foreach (string c in podCidrs)
                {
                    w.WriteStringValue(c);
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteStartObject("status");
            w.WriteStartArray("images");
            for (int i = 0; i < images; i++)
            {
                w.WriteStartObject();
                w.WriteStartArray("names");
                w.WriteStringValue($"registry.k8s.io/image-{i}@sha256:{new string('a', 64)}");
                w.WriteEndArray();
                w.WriteNumber("sizeBytes", 123456789);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("conditions");
            w.WriteStartObject();
            w.WriteString("type", "Ready");
            w.WriteString("status", "True");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static NodeSummary Node(string name, IReadOnlyDictionary<string, string>? annotations, string[] podCidrs, long rv = 1, string created = "2026-12-07T09:00:00Z") =>
        NodeSummary.Parse(Encoding.UTF8.GetBytes(Json(name, annotations, podCidrs, rv, created)), P);
}
