using System.Text.Json.Nodes;

namespace Twill.Cni.Conformance.Harness;

/// <summary>A network as a runtime loads it: a conflist, or a single plugin config as a list of one.</summary>
public sealed class NetworkList
{
    private NetworkList(string name, string? cniVersion, JsonArray plugins, bool isList)
    {
        Name = name;
        CniVersion = cniVersion;
        Plugins = plugins;
        IsList = isList;
    }

    /// <summary>A conflist: libcni copies name and cniVersion into each plugin (an absent version as "").</summary>
    public bool IsList { get; }

    public string Name { get; }

    public string? CniVersion { get; }

    public JsonArray Plugins { get; }

    public static NetworkList FromConflist(string json)
    {
        JsonObject o = JsonNode.Parse(json)!.AsObject();
        return new NetworkList((string)o["name"]!, (string?)o["cniVersion"], o["plugins"]!.AsArray(), isList: true);
    }

    /// <summary>A single plugin config (libcni's AddNetwork): passed on as written, only runtimeConfig added.</summary>
    public static NetworkList Single(string json)
    {
        JsonObject o = JsonNode.Parse(json)!.AsObject();
        return new NetworkList((string)o["name"]!, (string?)o["cniVersion"], [o], isList: false);
    }

    public bool AtLeast040 => CniVersion is not null && !CniVersion.StartsWith("0.1", StringComparison.Ordinal)
        && !CniVersion.StartsWith("0.2", StringComparison.Ordinal) && !CniVersion.StartsWith("0.3", StringComparison.Ordinal);
}

/// <summary>One container's attachment to a network: what a runtime keeps between ADD, CHECK and DEL.</summary>
public sealed class Attachment(string containerId, Pod? pod)
{
    public string ContainerId { get; } = containerId;

    public Pod? Pod { get; } = pod;

    /// <summary>CNI_NETNS; defaults to the pod's namespace path.</summary>
    public string? Netns { get; init; }

    public string IfName { get; init; } = "eth0";

    public string? Args { get; init; }

    /// <summary>The runtime's capability arguments (portMappings, ips, ...), injected as runtimeConfig.</summary>
    public JsonObject? CapabilityArgs { get; init; }

    /// <summary>The result of the last successful ADD (libcni's result cache).</summary>
    public JsonNode? Cached { get; set; }

    public string? NetnsPath => Netns ?? Pod?.Path;
}

/// <summary>
/// The parts of libcni that shape what a plugin sees: for each plugin of a list, name and
/// cniVersion copied in, prevResult chained, runtimeConfig built from the plugin's declared
/// capabilities; DEL in reverse order; prevResult on DEL and CHECK from the cached result (0.4.0+).
/// </summary>
public static class Libcni
{
    public static string BuildConfig(NetworkList net, JsonObject plugin, JsonNode? prevResult, JsonObject? capabilityArgs)
    {
        JsonObject conf = plugin.DeepClone().AsObject();
        conf["name"] = net.Name;
        if (net.IsList)
        {
            conf["cniVersion"] = net.CniVersion ?? "";
        }
        if (prevResult is not null)
        {
            conf["prevResult"] = prevResult.DeepClone();
        }
        if (capabilityArgs is not null && plugin["capabilities"] is JsonObject caps)
        {
            JsonObject rc = [];
            foreach ((string cap, JsonNode? enabled) in caps)
            {
                if (enabled is JsonValue v && v.TryGetValue(out bool on) && on && capabilityArgs[cap] is JsonNode arg)
                {
                    rc[cap] = arg.DeepClone();
                }
            }
            if (rc.Count > 0)
            {
                conf["runtimeConfig"] = rc;
            }
        }
        return conf.ToJsonString();
    }

    public static CniOutcome Add(Node node, NetworkList net, Attachment a)
    {
        JsonNode? prev = null;
        CniOutcome? last = null;
        foreach (JsonNode? p in net.Plugins)
        {
            JsonObject plugin = p!.AsObject();
            last = node.Exec((string)plugin["type"]!, Request(a, "ADD", BuildConfig(net, plugin, prev, a.CapabilityArgs)));
            if (!last.Ok)
            {
                return last;
            }
            prev = last.Json;
        }
        a.Cached = prev;
        return last!;
    }

    public static CniOutcome Check(Node node, NetworkList net, Attachment a) => Each(node, net, a, "CHECK", net.Plugins);

    public static CniOutcome Del(Node node, NetworkList net, Attachment a)
    {
        CniOutcome outcome = Each(node, net, a, "DEL", net.Plugins.Reverse());
        if (outcome.Ok)
        {
            a.Cached = null;
        }
        return outcome;
    }

    /// <summary>STATUS and GC (spec 1.1) go to every plugin of the list with no container.</summary>
    public static CniOutcome Network(Node node, NetworkList net, string command, JsonObject? extra = null)
    {
        CniOutcome? last = null;
        foreach (JsonNode? p in net.Plugins)
        {
            JsonObject plugin = p!.AsObject();
            JsonObject conf = JsonNode.Parse(BuildConfig(net, plugin, null, null))!.AsObject();
            foreach ((string k, JsonNode? v) in extra ?? [])
            {
                conf[k] = v?.DeepClone();
            }
            last = node.Exec((string)plugin["type"]!, new CniRequest { Command = command, Config = conf.ToJsonString(), IfName = null });
            if (!last.Ok)
            {
                return last;
            }
        }
        return last!;
    }

    private static CniOutcome Each(Node node, NetworkList net, Attachment a, string command, IEnumerable<JsonNode?> plugins)
    {
        JsonNode? prev = net.AtLeast040 ? a.Cached : null;
        CniOutcome? last = null;
        foreach (JsonNode? p in plugins)
        {
            JsonObject plugin = p!.AsObject();
            last = node.Exec((string)plugin["type"]!, Request(a, command, BuildConfig(net, plugin, prev, a.CapabilityArgs)));
            if (!last.Ok)
            {
                return last;
            }
        }
        return last!;
    }

    private static CniRequest Request(Attachment a, string command, string config) => new()
    {
        Command = command,
        ContainerId = a.ContainerId,
        Netns = a.NetnsPath,
        IfName = a.IfName,
        Args = a.Args,
        Config = config,
    };
}
