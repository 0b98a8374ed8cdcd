using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s.Models;
using Twill.Lab;
using Twill.Testing;

namespace Twill.Deploy.Tests;

/// <summary>
/// A kubelet's part for one DaemonSet pod per lab node, with Podman as the container runtime:
/// the pod's volumes (each hostPath a per-node directory under the node's state dir, standing for
/// that node's own filesystem; each configMap its files; the service account's token, ca.crt and
/// namespace), the init containers in order, each to success, then the containers detached, all
/// with the host network (Podman started inside the node's namespace), the spec's command, args,
/// env with the downward API, capabilities, and the in-cluster KUBERNETES_SERVICE_HOST/PORT of the
/// lab's API server. What the spec asks that this kubelet does not do is an error naming it.
/// </summary>
internal sealed partial class PodmanKubelet : ILabAgents, IDisposable
{
    /// <summary>What containerd's CRI gives every container before the spec's adds (kubelet clusters' default).</summary>
    private static readonly string[] RuntimeDefaultCapabilities =
    [
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
        "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    ];

    private const string ServiceAccountMount = "/var/run/secrets/kubernetes.io/serviceaccount";

    private readonly DeployManifest _manifest;
    private readonly string _prefix;
    private readonly List<string> _containers = [];
    private LabPaths? _paths;
    private LabTopology? _topology;

    public PodmanKubelet(DeployManifest manifest, string lab)
    {
        _manifest = manifest;
        _prefix = $"twd-{lab}-";
    }

    private V1PodSpec Pod => _manifest.DaemonSet.Spec.Template.Spec;

    private string PodNamespace => _manifest.DaemonSet.Metadata.NamespaceProperty;

    /// <summary>The prefix of every container name this kubelet uses (so a test can prove they are gone).</summary>
    public string ContainerPrefix => _prefix;

    public void Start(LabTopology topology, LabPaths paths)
    {
        _paths = paths;
        _topology = topology;
        Assert.True(Pod.HostNetwork == true, "the DaemonSet's pod must use the host network (hostNetwork: true)");
        try
        {
            // Each node's kubelet is its own: the nodes side by side.
            Parallel.ForEach(topology.Nodes, RunPod);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    /// <summary>One node's pod: the init containers in order, each to success, then the containers, detached.</summary>
    private void RunPod(LabNode node)
    {
        Dictionary<string, string> volumes = PrepareVolumes(node);
        string podName = $"{_manifest.DaemonSet.Metadata.Name}-{node.Name}";
        Dictionary<string, string> env = InClusterEnvironment(node);
        foreach (V1Container init in Pod.InitContainers ?? [])
        {
            Tool.Result r = Podman(node, init, volumes, podName, env, detach: false);
            if (r.ExitCode != 0)
            {
                throw new LabStepException($"init container {init.Name} on {node.Name} exited {r.ExitCode}: {r.Stderr}{r.Stdout}");
            }
        }
        foreach (V1Container container in Pod.Containers)
        {
            Tool.Result r = Podman(node, container, volumes, podName, env, detach: true);
            if (r.ExitCode != 0)
            {
                throw new LabStepException($"container {container.Name} on {node.Name} did not start ({r.ExitCode}): {r.Stderr}{r.Stdout}");
            }
        }
    }

    /// <summary>A runtime on the node: /opt/cni/bin, the first conflist of /etc/cni/net.d (libcni's order), flannel's /run/flannel/subnet.env.</summary>
    public LabNodeCni Cni(LabNode node)
    {
        string confDir = HostPath(node, "/etc/cni/net.d");
        string conf = Directory.EnumerateFiles(confDir)
            .Where(f => f.EndsWith(".conflist", StringComparison.Ordinal) || f.EndsWith(".conf", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).FirstOrDefault()
            ?? throw new LabStepException($"no CNI conflist in {node.Name}'s /etc/cni/net.d ({confDir}): did the init container run?");
        return new LabNodeCni(HostPath(node, "/run/flannel/subnet.env"), HostPath(node, "/opt/cni/bin"), CniConfList.Parse(File.ReadAllText(conf), conf));
    }

    public bool IsRunning(LabNode node) => Pod.Containers.All(c =>
        Tool.Run("podman", "container", "inspect", "--format", "{{.State.Running}}", ContainerName(node, c)).Stdout.Trim() == "true");

    public string LogTail(LabNode node)
    {
        string name = ContainerName(node, Pod.Containers[0]);
        Tool.Result r = Tool.Run("podman", "logs", "--tail", "12", name);
        return $"podman logs {name}: {r.Stdout}{r.Stderr}".Trim();
    }

    /// <summary>The HTTP status of a probe's httpGet, asked from inside the node (the host network the probe is for); 0 when nothing answers.</summary>
    public int Probe(LabNode node, V1Probe probe)
    {
        V1HTTPGetAction get = probe.HttpGet ?? throw new LabStepException("only httpGet probes are run here");
        string url = $"{get.Scheme?.ToLowerInvariant() ?? "http"}://{get.Host ?? node.Address.ToString()}:{get.Port.Value}{get.Path}";
        Tool.Result r = Tool.Run("nsenter", ["--net=/var/run/netns/" + node.Namespace, "curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}", url], stdin: null);
        return int.TryParse(r.Stdout.Trim(), out int code) ? code : 0;
    }

    /// <summary>The node's path of a host path (its hostPath volume, its CNI directories).</summary>
    public string HostPath(LabNode node, string path) => Path.Combine(Paths.NodeDir(node.Name), "host", path.TrimStart('/'));

    /// <summary>Removes every container it made, then waits for Podman's own processes in the node namespaces (conmon, its cleanup) to end.</summary>
    public void Dispose()
    {
        foreach (string name in _containers)
        {
            Tool.Run("podman", ["rm", "--force", "--time", "2", name], stdin: null, timeout: TimeSpan.FromSeconds(60));
        }
        _containers.Clear();
        if (_topology is null)
        {
            return;
        }
        System.Diagnostics.Stopwatch sw = System.Diagnostics.Stopwatch.StartNew();
        while (ProcessesInNodes() is { Count: > 0 } left)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20))
            {
                Leftovers = left;
                return;
            }
            Thread.Sleep(200);
        }
    }

    /// <summary>What still ran in a node namespace 20 s after the containers were removed (for the test to report).</summary>
    public IReadOnlyList<string> Leftovers { get; private set; } = [];

    private List<string> ProcessesInNodes()
    {
        HashSet<string> namespaces = [.. _topology!.Nodes.Select(n => NetnsId("/var/run/netns/" + n.Namespace)).OfType<string>()];
        List<string> found = [];
        foreach (string dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            if (NetnsId(Path.Combine(dir, "ns", "net")) is string id && namespaces.Contains(id))
            {
                try
                {
                    found.Add($"{Path.GetFileName(dir)}: {File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim()}");
                }
                catch (IOException)
                {
                }
            }
        }
        return found;
    }

    // A namespace's identity: the inode that /proc/PID/ns/net links to ("net:[4026532281]") or that a bind-mounted netns file has.
    private static string? NetnsId(string path)
    {
        try
        {
            if (path.StartsWith("/proc/", StringComparison.Ordinal))
            {
                return new FileInfo(path).LinkTarget is string target ? target[5..^1] : null;
            }
            Tool.Result r = Tool.Run("stat", "-L", "-c", "%i", path);
            return r.ExitCode == 0 ? r.Stdout.Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private LabPaths Paths => _paths ?? throw new InvalidOperationException("Start first");

    private string ContainerName(LabNode node, V1Container container) => $"{_prefix}{node.Name}-{container.Name}";

    /// <summary>Volume name → the host directory or file the kubelet would bind into the containers.</summary>
    private Dictionary<string, string> PrepareVolumes(LabNode node)
    {
        string kubelet = Path.Combine(Paths.NodeDir(node.Name), "kubelet");
        Dictionary<string, string> sources = new(StringComparer.Ordinal);
        foreach (V1Volume volume in Pod.Volumes ?? [])
        {
            if (volume.HostPath is V1HostPathVolumeSource hostPath)
            {
                string path = HostPath(node, hostPath.Path);
                switch (hostPath.Type ?? "")
                {
                    // Unset: the kubelet checks nothing; the node has these directories (/opt/cni/bin,
                    // /etc/cni/net.d, /run/flannel), made here as the node's own.
                    case "":
                    case "DirectoryOrCreate":
                        Directory.CreateDirectory(path);
                        break;
                    case "FileOrCreate":
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        File.AppendAllText(path, "");
                        break;
                    default:
                        throw new LabStepException($"volume {volume.Name}: hostPath type {hostPath.Type} is not run by this kubelet");
                }
                sources[volume.Name] = path;
            }
            else if (volume.ConfigMap is V1ConfigMapVolumeSource cm)
            {
                Assert.True(cm.Items is null, $"volume {volume.Name}: configMap items are not run by this kubelet");
                string dir = Path.Combine(kubelet, "configmap-" + volume.Name);
                Directory.CreateDirectory(dir);
                foreach ((string key, string value) in _manifest.ConfigMap(cm.Name).Data)
                {
                    File.WriteAllText(Path.Combine(dir, key), value);
                }
                sources[volume.Name] = dir;
            }
            else
            {
                throw new LabStepException($"volume {volume.Name}: only hostPath and configMap volumes are run by this kubelet");
            }
        }
        return sources;
    }

    /// <summary>
    /// The service account volume (token, ca.crt, namespace) and KUBERNETES_SERVICE_HOST/PORT, both
    /// from the node's lab kubeconfig: its token is one the lab's API server accepts, its server the
    /// lab's API server, its CA the one that signed the serving certificate.
    /// </summary>
    private Dictionary<string, string> InClusterEnvironment(LabNode node)
    {
        string kubeconfig = File.ReadAllText(Paths.NodeKubeconfig(node.Name));
        string token = TokenLine().Match(kubeconfig) is { Success: true } t ? t.Groups[1].Value : throw new LabStepException($"no token in {Paths.NodeKubeconfig(node.Name)}");
        Uri server = ServerLine().Match(kubeconfig) is { Success: true } s ? new Uri(s.Groups[1].Value) : throw new LabStepException($"no server in {Paths.NodeKubeconfig(node.Name)}");
        string dir = Path.Combine(Paths.NodeDir(node.Name), "kubelet", "serviceaccount");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "token"), token);
        File.Copy(Path.Combine(Paths.KubePki, "ca.crt"), Path.Combine(dir, "ca.crt"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "namespace"), PodNamespace);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["KUBERNETES_SERVICE_HOST"] = server.Host,
            ["KUBERNETES_SERVICE_PORT"] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["KUBERNETES_SERVICE_PORT_HTTPS"] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    private Tool.Result Podman(LabNode node, V1Container c, Dictionary<string, string> volumes, string podName, Dictionary<string, string> serviceEnv, bool detach)
    {
        string name = ContainerName(node, c);
        lock (_containers)
        {
            _containers.Add(name);
        }
        // nsenter --net and not ip netns exec, and runc on cgroupfs with ulimits the session may
        // set: how Podman runs on this machine (shared/reference/podman-cni.md).
        List<string> args =
        [
            "--net=/var/run/netns/" + node.Namespace,
            "podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
            "run", "--name", name, "--pull", "never", "--network", "host",
            "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
            detach ? "--detach" : "--rm",
        ];
        if (c.SecurityContext?.Privileged == true)
        {
            args.Add("--privileged");
        }
        else
        {
            args.AddRange(["--cap-drop", "all"]);
            foreach (string cap in RuntimeDefaultCapabilities.Concat(c.SecurityContext?.Capabilities?.Add ?? []).Distinct())
            {
                args.AddRange(["--cap-add", cap]);
            }
            foreach (string cap in c.SecurityContext?.Capabilities?.Drop ?? [])
            {
                args.AddRange(["--cap-drop", cap]);
            }
        }
        foreach ((string key, string value) in serviceEnv.Concat(Env(node, c, podName)))
        {
            args.AddRange(["--env", $"{key}={value}"]);
        }
        args.AddRange(["--volume", $"{Path.Combine(Paths.NodeDir(node.Name), "kubelet", "serviceaccount")}:{ServiceAccountMount}:ro"]);
        foreach (V1VolumeMount mount in c.VolumeMounts ?? [])
        {
            string source = volumes.TryGetValue(mount.Name, out string? s) ? s : throw new LabStepException($"container {c.Name}: volumeMount {mount.Name} has no volume");
            bool readOnly = mount.ReadOnlyProperty == true || Pod.Volumes!.Single(v => v.Name == mount.Name).ConfigMap is not null;
            args.AddRange(["--volume", $"{source}:{mount.MountPath.TrimEnd('/')}{(readOnly ? ":ro" : "")}"]);
        }
        if (c.Command is { Count: > 0 } command)
        {
            args.AddRange(["--entrypoint", new JsonArray([.. command.Select(a => (JsonNode?)JsonValue.Create(a))]).ToJsonString()]);
        }
        args.Add(c.Image);
        args.AddRange(c.Args ?? []);
        return Tool.Run("nsenter", args, stdin: null, timeout: TimeSpan.FromSeconds(120));
    }

    /// <summary>The container's env: plain values and the downward API's pod fields.</summary>
    private IEnumerable<KeyValuePair<string, string>> Env(LabNode node, V1Container c, string podName)
    {
        foreach (V1EnvVar e in c.Env ?? [])
        {
            string value = e.ValueFrom?.FieldRef?.FieldPath switch
            {
                null when e.ValueFrom is null => e.Value ?? "",
                "spec.nodeName" => node.Name,
                "metadata.name" => podName,
                "metadata.namespace" => PodNamespace,
                "status.hostIP" or "status.podIP" => node.Address.ToString(),
                string other => throw new LabStepException($"env {e.Name}: fieldRef {other} is not run by this kubelet"),
                null => throw new LabStepException($"env {e.Name}: only fieldRef sources are run by this kubelet"),
            };
            yield return new(e.Name, value);
        }
    }

    [GeneratedRegex(@"^\s*token:\s*(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex TokenLine();

    [GeneratedRegex(@"^\s*server:\s*(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ServerLine();
}
