using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twill.Os;

namespace Twill.Lab;

/// <summary>
/// Runs a conflist for one pod the way libcni does: ADD each plugin in order, chaining each result
/// into the next as prevResult and passing runtimeConfig.portMappings to plugins with that
/// capability; DEL in reverse order with the cached result. Each plugin process runs inside the
/// node's namespace (nsenter --net), as a kubelet on that node would run it.
/// </summary>
internal sealed class CniRuntime
{
    private readonly Func<LabNode, LabNodeCni> _nodes;
    private readonly LabTopology _topology;
    private readonly LabPaths _paths;
    private readonly IProcessRunner _processes = ManagedProcessRunner.Instance;

    /// <summary>Every node with the lab's own files: one plugin directory, the lab's conflist, each node's subnet.env in the state dir.</summary>
    public CniRuntime(string cniPath, LabTopology topology, LabPaths paths)
        : this(node => new LabNodeCni(paths.SubnetEnv(node.Name), cniPath, topology.CniConf), topology, paths)
    {
    }

    /// <summary>Each node with its own subnet file, plugins and conflist (<see cref="ILabAgents.Cni"/>).</summary>
    public CniRuntime(Func<LabNode, LabNodeCni> nodes, LabTopology topology, LabPaths paths)
    {
        _nodes = nodes;
        _topology = topology;
        _paths = paths;
    }

    /// <summary>ADD the pod; returns the final result (JSON) and stores it for DEL.</summary>
    public JsonNode Add(LabPod pod)
    {
        JsonNode? result = null;
        LabNodeCni node = _nodes(_topology.Node(pod.Node));
        CniConfList list = node.CniConf;
        for (int i = 0; i < list.Count; i++)
        {
            string stdin = list.PluginConfig(i, result, Capabilities(pod), Extra(pod, node));
            string output = Invoke("ADD", list.Types[i], pod, node, stdin);
            result = JsonNode.Parse(output) ?? throw new LabStepException($"CNI ADD {list.Types[i]} for {pod.Name}: empty result");
        }
        JsonNode final = result ?? throw new LabStepException("CNI ADD: the conflist has no plugins");
        Directory.CreateDirectory(Path.GetDirectoryName(_paths.PodResult(pod.Name))!);
        File.WriteAllText(_paths.PodResult(pod.Name), final.ToJsonString());
        return final;
    }

    /// <summary>DEL the pod, plugins in reverse order; every plugin runs even when one fails (DEL is best effort here).</summary>
    public IReadOnlyList<string> Delete(LabPod pod)
    {
        JsonNode? cached = null;
        string resultFile = _paths.PodResult(pod.Name);
        if (File.Exists(resultFile))
        {
            try
            {
                cached = JsonNode.Parse(File.ReadAllText(resultFile));
            }
            catch (JsonException)
            {
                cached = null;
            }
        }
        List<string> errors = [];
        LabNodeCni node = _nodes(_topology.Node(pod.Node));
        CniConfList list = node.CniConf;
        for (int i = list.Count - 1; i >= 0; i--)
        {
            try
            {
                Invoke("DEL", list.Types[i], pod, node, list.PluginConfig(i, cached, Capabilities(pod), Extra(pod, node)));
            }
            catch (LabStepException e)
            {
                errors.Add(e.Message);
            }
        }
        return errors;
    }

    /// <summary>The first IPv4 address of a CNI result (its "ips" list, 0.3.0 and later).</summary>
    public static string? PodAddress(JsonNode result)
    {
        if (result["ips"] is JsonArray ips)
        {
            foreach (JsonNode? ip in ips)
            {
                if (ip?["address"] is JsonValue v && v.TryGetValue(out string? cidr) && cidr.Contains('.', StringComparison.Ordinal))
                {
                    return cidr.Split('/')[0];
                }
            }
        }
        // 0.2.0 results: {"ip4": {"ip": "10.244.1.2/24"}}
        if (result["ip4"]?["ip"] is JsonValue old && old.TryGetValue(out string? cidr4))
        {
            return cidr4.Split('/')[0];
        }
        return null;
    }

    private static Dictionary<string, JsonNode> Capabilities(LabPod pod) => new()
    {
        ["portMappings"] = new JsonArray(new JsonObject
        {
            ["hostPort"] = pod.HostPort,
            ["containerPort"] = pod.ContainerPort,
            ["protocol"] = "tcp",
        }),
    };

    // Keep every file a plugin writes inside the lab's state dir: the flannel plugin's subnetFile
    // and dataDir, and host-local's dataDir through the ipam the flannel plugin hands its delegate.
    private Dictionary<string, JsonNode> Extra(LabPod pod, LabNodeCni node) => new()
    {
        ["subnetFile"] = node.SubnetFile,
        ["dataDir"] = _paths.FlannelDataDir(pod.Node),
        ["ipam"] = new JsonObject { ["dataDir"] = _paths.IpamDataDir(pod.Node) },
    };

    private string Invoke(string command, string type, LabPod pod, LabNodeCni cni, string stdin)
    {
        string binary = Path.Combine(cni.CniPath, type);
        if (!File.Exists(binary))
        {
            throw new LabStepException($"CNI plugin \"{type}\" not found in {cni.CniPath} (run `make build`; CNI_PATH must hold flannel, bridge, host-local, portmap)");
        }
        LabNode node = _topology.Node(pod.Node);
        IReadOnlyList<string> argv = LabProcesses.WithNetns(node.Namespace, [binary]);
        ProcessSpec spec = new(argv[0], [.. argv.Skip(1)])
        {
            Stdin = Encoding.UTF8.GetBytes(stdin),
            Overrides = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["CNI_COMMAND"] = command,
                ["CNI_CONTAINERID"] = pod.ContainerId(_topology.Name),
                ["CNI_NETNS"] = "/var/run/netns/" + pod.Namespace,
                ["CNI_IFNAME"] = "eth0",
                ["CNI_PATH"] = cni.CniPath,
                ["CNI_ARGS"] = $"IgnoreUnknown=1;K8S_POD_NAMESPACE=lab;K8S_POD_NAME={pod.Name}",
            },
            Timeout = TimeSpan.FromSeconds(60),
        };
        ProcessResult p;
        try
        {
            p = _processes.Run(spec);
        }
        catch (ProcessStartException e)
        {
            throw new LabStepException($"could not start {binary}: {e.Reason}");
        }
        catch (TimeoutException)
        {
            throw new LabStepException($"CNI {command} {type} for pod {pod.Name} on {node.Name}: no answer within 60 s");
        }
        string stdout = p.StdoutText;
        string stderr = p.StderrText;
        Directory.CreateDirectory(Path.GetDirectoryName(_paths.PodLog(pod.Name))!);
        File.AppendAllText(_paths.PodLog(pod.Name),
            $"== {command} {type}\n-- stdin\n{stdin}\n-- stdout\n{stdout}\n-- stderr\n{stderr}\n-- exit {p.ExitCode}\n");
        if (p.ExitCode != 0)
        {
            throw new LabStepException($"CNI {command} {type} for pod {pod.Name} on {node.Name} failed (exit {p.ExitCode}): {ErrorText(stdout, stderr)}");
        }
        return stdout;
    }

    // A CNI error is JSON on stdout: {"code": N, "msg": "...", "details": "..."}.
    private static string ErrorText(string stdout, string stderr)
    {
        try
        {
            if (JsonNode.Parse(stdout) is JsonObject e && e["msg"] is not null)
            {
                string details = e["details"] is JsonValue d && d.TryGetValue(out string? s) && s.Length > 0 ? $" ({s})" : "";
                return $"{e["msg"]}{details} [code {e["code"]}]";
            }
        }
        catch (JsonException)
        {
        }
        string text = (stdout + " " + stderr).Trim();
        return text.Length == 0 ? "no output" : text;
    }
}

/// <summary>A step of bringing the lab up or down failed; the message says which and why.</summary>
public sealed class LabStepException : Exception
{
    public LabStepException(string message) : base(message)
    {
    }

    public LabStepException()
    {
    }

    public LabStepException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
