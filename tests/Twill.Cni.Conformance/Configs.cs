using System.Text.Json.Nodes;
using Twill.Cni.Conformance.Harness;

namespace Twill.Cni.Conformance;

/// <summary>The network configs the scenarios use; <c>$DIR</c> is the node's temp dir.</summary>
public static class Configs
{
    /// <summary>Versions the reference 1.1.1 supports with results (0.1.0/0.2.0 predate the 0.3 result format).</summary>
    public static readonly string[] Versions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

    public static TheoryData<string> VersionData() => [.. Versions];

    /// <summary>A bridge + host-local config; <paramref name="extra"/> is merged over it (JSON object text).</summary>
    public static string Bridge(Node node, string version = "1.0.0", string extra = "{}", string ipam = """{"ranges":[[{"subnet":"10.244.7.0/24"}]]}""")
    {
        JsonObject conf = new()
        {
            ["cniVersion"] = version,
            ["name"] = "confnet",
            ["type"] = "bridge",
            ["bridge"] = "cni0",
        };
        Merge(conf, JsonNode.Parse(extra)!.AsObject());
        JsonObject ipamConf = new() { ["type"] = "host-local", ["dataDir"] = node.IpamDir };
        Merge(ipamConf, JsonNode.Parse(ipam)!.AsObject());
        conf["ipam"] = ipamConf;
        return conf.ToJsonString();
    }

    /// <summary>bridge + host-local, then portmap with the portMappings capability (the reference bench's chain).</summary>
    public static string BridgePortmapList(Node node, string version = "1.0.0", string bridgeExtra = "{}", string portmapExtra = "{}")
    {
        JsonObject bridge = JsonNode.Parse(Bridge(node, version, bridgeExtra))!.AsObject();
        bridge.Remove("cniVersion");
        bridge.Remove("name");
        JsonObject portmap = new() { ["type"] = "portmap", ["capabilities"] = new JsonObject { ["portMappings"] = true } };
        Merge(portmap, JsonNode.Parse(portmapExtra)!.AsObject());
        return new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = "confnet",
            ["plugins"] = new JsonArray(bridge, portmap),
        }.ToJsonString();
    }

    public static JsonObject PortMappings(params (int Host, int Container, string Proto, string? HostIp)[] maps)
    {
        JsonArray arr = [];
        foreach ((int host, int container, string proto, string? hostIp) in maps)
        {
            JsonObject m = new() { ["hostPort"] = host, ["containerPort"] = container, ["protocol"] = proto };
            if (hostIp is not null)
            {
                m["hostIP"] = hostIp;
            }
            arr.Add((JsonNode)m);
        }
        return new JsonObject { ["portMappings"] = arr };
    }

    public static void Merge(JsonObject into, JsonObject from)
    {
        foreach ((string k, JsonNode? v) in from.ToList())
        {
            into[k] = v?.DeepClone();
        }
    }
}
