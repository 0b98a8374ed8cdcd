using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Plugins.Flannel;

/// <summary>
/// flannel: the meta-plugin of Flannel's cni-plugin. Reads the agent's subnet.env, derives the
/// delegate config (bridge + host-local by default) exactly as Flannel's plugin does, saves it under
/// dataDir/&lt;containerID&gt; for DEL, and delegates (in-process when the delegate is ours).
/// </summary>
public sealed class FlannelPlugin : ICniPlugin
{
    public const string DefaultSubnetFile = SubnetEnv.DefaultPath;
    public const string DefaultDataDir = "/var/lib/cni/flannel";

    public string Type => "flannel";

    public CniResult Add(CniInvocation call)
    {
        JsonObject conf = ParseObject(call.StdinData);
        SubnetEnv env = LoadSubnetEnv(SubnetFile(conf));
        byte[] delegateBytes = DeriveDelegate(conf, env, call.Name, call.Config);
        string dataDir = DataDir(conf);
        SaveScratch(dataDir, call.ContainerId, delegateBytes);
        string type = ((JsonObject)JsonNode.Parse(delegateBytes)!)["type"]!.GetValue<string>();
        try
        {
            return Delegation.Add(type, delegateBytes, call);
        }
        catch (CniException e)
        {
            throw new CniException(CniErrorCode.Internal, "failed to delegate add: " + e.Message + (e.Details is { Length: > 0 } d ? "; " + d : ""));
        }
    }

    public void Del(CniInvocation call)
    {
        JsonObject conf = ParseObject(call.StdinData);
        string path = Path.Combine(DataDir(conf), call.ContainerId);
        byte[] saved;
        try
        {
            saved = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return; // never added, or already deleted: DEL is idempotent
        }
        string? type;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(saved);
            type = CniInvocation.StringField(doc.RootElement, "type");
        }
        catch (Exception e) when (e is JsonException or CniException)
        {
            // Flannel's plugin also gives up here: the veth goes with the pod's namespace.
            Console.Error.WriteLine($"failed to parse netconf {path}: {e.Message}");
            return;
        }
        Delegation.Del(type ?? "", saved, call);
        File.Delete(path);
    }

    /// <summary>Flannel's plugin does not implement CHECK; neither do we (success).</summary>
    public void Check(CniInvocation call)
    {
    }

    /// <summary>
    /// GC (1.1): the delegate derived as for ADD, given the runtime's valid attachments, collects
    /// (bridge hands it to host-local). The saved delegate configs stay: dataDir may be shared by
    /// several flannel networks, and a file is only keyed by container.
    /// </summary>
    public void Gc(CniInvocation call)
    {
        JsonObject conf = ParseObject(call.StdinData);
        SubnetEnv env = LoadSubnetEnv(SubnetFile(conf));
        JsonObject dlg = (JsonObject)JsonNode.Parse(DeriveDelegate(conf, env, call.Name, call.Config))!;
        if (conf["cni.dev/valid-attachments"] is JsonNode valid)
        {
            dlg["cni.dev/valid-attachments"] = valid.DeepClone();
        }
        string type = dlg["type"]!.GetValue<string>();
        Delegation.Gc(type, GoJson.Marshal(dlg), call);
    }

    /// <summary>STATUS (1.1): not ready until the agent has written a valid subnet.env.</summary>
    public void Status(CniInvocation call)
    {
        try
        {
            LoadSubnetEnv(SubnetFile(ParseObject(call.StdinData)));
        }
        catch (CniException e)
        {
            throw new CniException(CniErrorCode.NotAvailable, e.Message, e.Details);
        }
    }

    /// <summary>
    /// The delegate config, byte for byte what Flannel's plugin hands on: Go marshals maps with
    /// sorted keys, compact. Exposed for tests against the fixture.
    /// </summary>
    public static byte[] DeriveDelegate(JsonObject conf, SubnetEnv env, string name, JsonElement original)
    {
        JsonObject dlg = conf["delegate"] is JsonObject d ? (JsonObject)d.DeepClone() : [];
        if (dlg.TryGetPropertyValue("type", out JsonNode? t) && t?.GetValueKind() != JsonValueKind.String)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "'delegate' dictionary, if present, must have (string) 'type' field");
        }
        if (dlg.ContainsKey("name"))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "'delegate' dictionary must not have 'name' field, it'll be set by flannel");
        }
        if (dlg.ContainsKey("ipam"))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
        }
        if (conf["runtimeConfig"] is JsonObject rc)
        {
            dlg["runtimeConfig"] = rc.DeepClone();
        }
        dlg["name"] = name;
        if (!dlg.ContainsKey("type"))
        {
            dlg["type"] = "bridge";
        }
        if (!dlg.ContainsKey("ipMasq"))
        {
            // Flannel masquerades on the node when FLANNEL_IPMASQ is true; otherwise the bridge must.
            dlg["ipMasq"] = !(env.IpMasq ?? false);
        }
        if (!dlg.ContainsKey("mtu"))
        {
            dlg["mtu"] = env.Mtu ?? 0;
        }
        if (dlg["type"]!.GetValue<string>() == "bridge" && !dlg.ContainsKey("isGateway"))
        {
            dlg["isGateway"] = true;
        }
        if (CniInvocation.StringField(original, "cniVersion") is { Length: > 0 } version)
        {
            dlg["cniVersion"] = version;
        }
        JsonObject ipam = conf["ipam"] is JsonObject i ? (JsonObject)i.DeepClone() : [];
        if (!ipam.ContainsKey("type"))
        {
            ipam["type"] = "host-local";
        }
        JsonArray ranges = [];
        if (env.Subnet is { } sn)
        {
            ranges.Add((JsonNode)new JsonArray(new JsonObject { ["subnet"] = sn.Network.ToString() }));
        }
        if (env.IPv6Subnet is { } sn6)
        {
            ranges.Add((JsonNode)new JsonArray(new JsonObject { ["subnet"] = sn6.Network.ToString() }));
        }
        ipam["ranges"] = ranges.Count > 0 ? ranges : null;
        JsonArray routes = ipam["routes"] is JsonArray existing ? (JsonArray)existing.DeepClone() : [];
        foreach (System.Net.IPNetwork nw in env.Networks.Concat(env.IPv6Networks))
        {
            routes.Add((JsonNode)new JsonObject { ["dst"] = nw.ToString() });
        }
        ipam["routes"] = routes;
        dlg["ipam"] = ipam;
        return GoJson.Marshal(dlg);
    }

    /// <summary>Reads subnet.env; every way it can be unusable says what to do about it.</summary>
    public static SubnetEnv LoadSubnetEnv(string path)
    {
        const string hint = "is the twill agent running on this node? It writes this file once the node's subnet is leased";
        SubnetEnv env;
        try
        {
            env = SubnetEnv.Read(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CniException(CniErrorCode.TryAgainLater, $"failed to load subnet file {path}: no such file: {hint}");
        }
        catch (FormatException e)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"failed to load subnet file {path}: {e.Message}: {hint}");
        }
        List<string> missing = [];
        if (env.Networks.Count == 0 && env.IPv6Networks.Count == 0)
        {
            missing.AddRange(["FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK"]);
        }
        if (env.Subnet is null && env.IPv6Subnet is null)
        {
            missing.AddRange(["FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"]);
        }
        if (env.Mtu is null)
        {
            missing.Add("FLANNEL_MTU");
        }
        if (env.IpMasq is null)
        {
            missing.Add("FLANNEL_IPMASQ");
        }
        if (missing.Count > 0)
        {
            throw new CniException(CniErrorCode.TryAgainLater, $"{path} is missing {string.Join(", ", missing)}: {hint}");
        }
        // A subnet outside the network is a file left from another cluster or configuration.
        if (env.Subnet is { } s && env.Networks.Count > 0 && !env.Networks.Any(n => n.Contains(s.Address)))
        {
            throw new CniException(CniErrorCode.TryAgainLater,
                $"{path} is stale: FLANNEL_SUBNET {s} is not inside FLANNEL_NETWORK {string.Join(',', env.Networks)}: {hint}");
        }
        return env;
    }

    private static string SubnetFile(JsonObject conf) =>
        conf["subnetFile"] is JsonValue v && v.TryGetValue(out string? s) && s.Length > 0 ? s : DefaultSubnetFile;

    private static string DataDir(JsonObject conf) =>
        conf["dataDir"] is JsonValue v && v.TryGetValue(out string? s) && s.Length > 0 ? s : DefaultDataDir;

    private static void SaveScratch(string dataDir, string containerId, byte[] bytes)
    {
        Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using FileStream f = new(Path.Combine(dataDir, containerId), new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        f.Write(bytes);
    }

    internal static JsonObject ParseObject(byte[] data)
    {
        JsonElement root;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(data, CniInvocation.DocumentOptions);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"failed to load netconf: {e.Message}");
        }
        return GoJson.FromElement(root) as JsonObject
            ?? throw new CniException(CniErrorCode.DecodingFailure, "failed to load netconf: expected a JSON object");
    }
}

/// <summary>JSON as Go's encoding/json marshals a map[string]interface{}: keys sorted, compact.</summary>
public static class GoJson
{
    public static byte[] Marshal(JsonNode node)
    {
        using MemoryStream ms = new();
        using (Utf8JsonWriter w = new(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default }))
        {
            Write(w, node);
        }
        return ms.ToArray();
    }

    private static void Write(Utf8JsonWriter w, JsonNode? node)
    {
        switch (node)
        {
            case null:
                w.WriteNullValue();
                break;
            case JsonObject o:
                w.WriteStartObject();
                foreach (KeyValuePair<string, JsonNode?> kv in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    w.WritePropertyName(kv.Key);
                    Write(w, kv.Value);
                }
                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                foreach (JsonNode? x in a)
                {
                    Write(w, x);
                }
                w.WriteEndArray();
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }

    public static string MarshalString(JsonNode node) => Encoding.UTF8.GetString(Marshal(node));

    /// <summary>
    /// A tree that Go's Unmarshal into a map would make: a repeated key keeps its last value (JsonNode.Parse
    /// instead throws ArgumentException when the object is first used). Scalars stay the parsed
    /// elements, so a number is written back exactly as it came.
    /// </summary>
    public static JsonNode? FromElement(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                JsonObject o = [];
                foreach (JsonProperty p in e.EnumerateObject())
                {
                    o[p.Name] = FromElement(p.Value);
                }
                return o;
            case JsonValueKind.Array:
                JsonArray a = [];
                foreach (JsonElement item in e.EnumerateArray())
                {
                    a.Add(FromElement(item));
                }
                return a;
            case JsonValueKind.Null:
                return null;
            default:
                return JsonValue.Create(e);
        }
    }
}
