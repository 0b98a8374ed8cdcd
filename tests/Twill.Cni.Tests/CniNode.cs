using System.Text.Json.Nodes;
using Twill.Testing;

namespace Twill.Cni.Tests;

/// <summary>
/// A node for plugin-level tests: a TestNetns where the bridge, host veths, iptables rules live,
/// the published plugins (TWILL_CNI_DIR, else &lt;repo&gt;/out/cni) run inside it as a runtime
/// runs them, and a conflist is driven the way libcni drives it (name/cniVersion injected,
/// runtimeConfig for declared capabilities, prevResult chained; DEL in reverse order).
/// </summary>
internal sealed class CniNode : IDisposable
{
    public TestNetns Ns { get; } = new("node");
    public TempDir State { get; } = new();
    public string BinDir { get; } = FindBinaries();
    public string SubnetEnvPath => Path.Combine(State.Path, "subnet.env");

    public CniNode()
    {
        File.WriteAllText(SubnetEnvPath, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
    }

    /// <summary>The seed's cni-conf.json, exactly as written, plus the test's state paths and a cniVersion.</summary>
    public string SeedConflist() => $$$"""
        {
          "name": "vxlan0",
          "cniVersion": "1.0.0",
          "plugins": [
            { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true },
              "subnetFile": "{{{SubnetEnvPath}}}", "dataDir": "{{{State.Path}}}/flannel", "ipam": { "dataDir": "{{{State.Path}}}/ipam" } },
            { "type": "portmap", "capabilities": { "portMappings": true } }
          ]
        }
        """;

    public string IpamDir => Path.Combine(State.Path, "ipam", "vxlan0");
    public string FlannelDir => Path.Combine(State.Path, "flannel");

    public Tool.Result Run(string type, string command, string conf, string containerId, string netnsPath, string ifName = "eth0") =>
        Tool.Run("ip",
        [
            "netns", "exec", Ns.Name, "env",
            "CNI_COMMAND=" + command, "CNI_CONTAINERID=" + containerId, "CNI_NETNS=" + netnsPath,
            "CNI_IFNAME=" + ifName, "CNI_PATH=" + BinDir, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=" + containerId,
            Path.Combine(BinDir, type),
        ], conf, TimeSpan.FromSeconds(120));

    /// <summary>libcni's AddNetworkList: returns the final result JSON.</summary>
    public string AddList(string conflist, string containerId, string netnsPath, JsonArray? portMappings = null)
    {
        JsonObject list = JsonNode.Parse(conflist)!.AsObject();
        string? prev = null;
        foreach (JsonNode? p in list["plugins"]!.AsArray())
        {
            JsonObject conf = Build(list, p!.AsObject(), prev, portMappings);
            Tool.Result r = Run(conf["type"]!.GetValue<string>(), "ADD", conf.ToJsonString(), containerId, netnsPath);
            if (r.ExitCode != 0)
            {
                throw new InvalidOperationException($"ADD {conf["type"]} for {containerId} failed: {r.Stdout} {r.Stderr}");
            }
            prev = r.Stdout;
        }
        return prev!;
    }

    /// <summary>libcni's DelNetworkList: reverse order, prevResult = the cached ADD result.</summary>
    public void DelList(string conflist, string containerId, string netnsPath, string? cached, JsonArray? portMappings = null)
    {
        JsonObject list = JsonNode.Parse(conflist)!.AsObject();
        foreach (JsonNode? p in list["plugins"]!.AsArray().Reverse())
        {
            JsonObject conf = Build(list, p!.AsObject(), cached, portMappings);
            Tool.Result r = Run(conf["type"]!.GetValue<string>(), "DEL", conf.ToJsonString(), containerId, netnsPath);
            if (r.ExitCode != 0)
            {
                throw new InvalidOperationException($"DEL {conf["type"]} for {containerId} failed: {r.Stdout} {r.Stderr}");
            }
        }
    }

    private static JsonObject Build(JsonObject list, JsonObject plugin, string? prev, JsonArray? portMappings)
    {
        JsonObject conf = plugin.DeepClone().AsObject();
        conf["name"] = list["name"]!.GetValue<string>();
        conf["cniVersion"] = list["cniVersion"]!.GetValue<string>();
        if (plugin["capabilities"]?["portMappings"]?.GetValue<bool>() == true && portMappings is not null)
        {
            conf["runtimeConfig"] = new JsonObject { ["portMappings"] = portMappings.DeepClone() };
        }
        if (prev is not null)
        {
            conf["prevResult"] = JsonNode.Parse(prev);
        }
        return conf;
    }

    private static string FindBinaries()
    {
        string? env = Environment.GetEnvironmentVariable("TWILL_CNI_DIR");
        if (!string.IsNullOrEmpty(env))
        {
            return env;
        }
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Twill.slnx")))
            {
                string dir = Path.Combine(d.FullName, "out", "cni");
                return File.Exists(Path.Combine(dir, "flannel"))
                    ? dir
                    : throw new InvalidOperationException($"no plugins in {dir}: run `make build` (or set TWILL_CNI_DIR)");
            }
        }
        throw new InvalidOperationException("cannot find the repository (Twill.slnx) from " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        Ns.Dispose();
        State.Dispose();
    }
}
