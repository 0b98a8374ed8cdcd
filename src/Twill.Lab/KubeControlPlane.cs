using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Twill.Core;
using Twill.Os;

namespace Twill.Lab;

/// <summary>
/// The cluster of <c>--store kube</c>: the API server stand-in (twill-kube-apiserver, beside
/// twill) on an etcd in the control-plane namespace, https with a CA of its own and a token file;
/// the kubelet's part (one Node per lab node) and kube-controller-manager's node IPAM (podCIDRs
/// in order from the cluster network) done by the lab through the real kubectl.
/// </summary>
internal static class KubeControlPlane
{
    public const int SecurePort = 6443;

    public const string KubectlPath = "kubectl";

    public static string ServerUrl(LabTopology topology) => $"https://{topology.ControlPlane!.Address}:{SecurePort}";

    /// <summary>The stand-in's binary: twill-kube-apiserver next to the twill the lab runs.</summary>
    public static string ApiServerPath(string twill) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(twill)) ?? ".", "twill-kube-apiserver");

    public static IReadOnlyList<string> ApiServerArguments(string twill, LabTopology topology, LabPaths paths) =>
    [
        ApiServerPath(twill),
        $"--etcd-servers={AgentLaunch.EtcdEndpoint(topology)}",
        $"--bind-address={topology.ControlPlane!.Address}",
        $"--secure-port={SecurePort.ToString(CultureInfo.InvariantCulture)}",
        $"--tls-cert-file={Path.Combine(paths.KubePki, "apiserver.crt")}",
        $"--tls-private-key-file={Path.Combine(paths.KubePki, "apiserver.key")}",
        $"--token-auth-file={paths.KubeTokens}",
    ];

    /// <summary>Certificates, the token file, and the kubeconfigs: the admin one (state dir) and one per node.</summary>
    public static void WriteCredentials(string twill, LabTopology topology, LabPaths paths)
    {
        PrivateFiles.CreateDirectory(paths.KubePki);
        RunChecked(ApiServerPath(twill), ["gen-certs", "--dir", paths.KubePki, "--ip", topology.ControlPlane!.Address.ToString()], "twill-kube-apiserver gen-certs");
        string admin = NewToken();
        List<string> lines = [$"{admin},admin,admin-uid,\"system:masters\""];
        // Tokens: root's alone (0600), as a real cluster's kubeconfigs are.
        PrivateFiles.WriteAtomically(paths.Kubeconfig, Kubeconfig(topology, paths, "admin", admin));
        foreach (LabNode node in topology.Nodes)
        {
            string token = NewToken();
            // The user a DaemonSet's service account would be; the stand-in checks the token, not RBAC.
            lines.Add($"{token},system:serviceaccount:kube-flannel:flannel-{node.Name},flannel-{node.Name},\"system:serviceaccounts\"");
            PrivateFiles.WriteAtomically(paths.NodeKubeconfig(node.Name), Kubeconfig(topology, paths, "flannel-" + node.Name, token));
        }
        PrivateFiles.WriteAtomically(paths.KubeTokens, string.Join('\n', lines) + "\n");
    }

    /// <summary>Whether the stand-in answers kubectl (through the admin kubeconfig, from the control-plane namespace).</summary>
    public static bool IsReady(LabTopology topology, LabPaths paths) =>
        Kubectl(topology, paths, ["get", "--raw", "/version"], null).ExitCode == 0;

    /// <summary>
    /// A Node per lab node as a kubelet registers it, with the podCIDR(s) kube-controller-manager's
    /// range allocator would give it: the i-th /SubnetLen (and /IPv6SubnetLen) of the cluster network.
    /// </summary>
    public static void RegisterNodes(LabTopology topology, LabPaths paths)
    {
        NetworkConfig config = NetworkConfig.Parse(topology.NetConf, out _);
        for (int i = 0; i < topology.Nodes.Count; i++)
        {
            LabNode node = topology.Nodes[i];
            List<string> cidrs = [];
            if (config.EnableIPv4 && config.Network is IPNetwork v4)
            {
                cidrs.Add(NthSubnet(v4, config.SubnetLen, i).ToString());
            }
            if (config.EnableIPv6 && config.IPv6Network is IPNetwork v6)
            {
                cidrs.Add(NthSubnet(v6, config.IPv6SubnetLen, i).ToString());
            }
            string manifest = NodeManifest(node, cidrs).ToJsonString();
            ToolResult result = Kubectl(topology, paths, ["create", "-f", "-"], manifest);
            if (result.ExitCode != 0)
            {
                throw new LabStepException($"kubectl create node {node.Name}: {result.Output.Trim()}");
            }
            // status is a subresource: the addresses go there, as the kubelet's status update does.
            JsonObject status = new()
            {
                ["status"] = new JsonObject
                {
                    ["addresses"] = new JsonArray(
                        new JsonObject { ["type"] = "InternalIP", ["address"] = node.Address.ToString() },
                        new JsonObject { ["type"] = "Hostname", ["address"] = node.Name }),
                },
            };
            result = Kubectl(topology, paths, ["patch", "node", node.Name, "--subresource=status", "--type=merge", "-p", status.ToJsonString()], null);
            if (result.ExitCode != 0)
            {
                throw new LabStepException($"kubectl patch node {node.Name} status: {result.Output.Trim()}");
            }
        }
    }

    /// <summary>kube-controller-manager's range allocator: the cluster CIDR cut into /length subnets, taken from the first.</summary>
    public static IPNetwork NthSubnet(IPNetwork network, int length, int index)
    {
        if (length <= 0)
        {
            throw new LabStepException($"net-conf: SubnetLen {length} for {network} cannot be cut into podCIDRs");
        }
        SubnetPool pool = new(network, length, network.BaseAddress, LastAddress(network));
        if ((UInt128)index >= pool.Count)
        {
            throw new LabStepException($"net-conf: {network} holds {pool.Count} /{length} podCIDRs; node {index + 1} needs more");
        }
        return pool[(UInt128)index];
    }

    public static JsonObject NodeManifest(LabNode node, IReadOnlyList<string> podCidrs)
    {
        JsonObject spec = new();
        if (podCidrs.Count > 0)
        {
            spec["podCIDR"] = podCidrs[0];
            spec["podCIDRs"] = new JsonArray([.. podCidrs.Select(c => (JsonNode)JsonValue.Create(c))]);
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject
            {
                ["name"] = node.Name,
                ["labels"] = new JsonObject
                {
                    ["kubernetes.io/os"] = "linux",
                    ["kubernetes.io/arch"] = "amd64",
                    ["kubernetes.io/hostname"] = node.Name,
                },
            },
            ["spec"] = spec,
        };
    }

    /// <summary>kubectl with the admin kubeconfig, run inside the control-plane namespace.</summary>
    public static ToolResult Kubectl(LabTopology topology, LabPaths paths, IReadOnlyList<string> args, string? stdin) =>
        Kubectl(topology.ControlPlane!.Namespace, paths.Kubeconfig, args, stdin);

    /// <summary>kubectl with <paramref name="kubeconfig"/>, run inside <paramref name="controlPlaneNamespace"/>.</summary>
    public static ToolResult Kubectl(string controlPlaneNamespace, string kubeconfig, IReadOnlyList<string> args, string? stdin) =>
        Run(LabProcesses.WithNetns(controlPlaneNamespace, [KubectlPath, "--kubeconfig", kubeconfig, "--request-timeout=10s", .. args]), stdin);

    /// <summary>A finished command: exit code and stdout followed by stderr.</summary>
    public sealed record ToolResult(int ExitCode, string Output);

    private static ToolResult Run(IReadOnlyList<string> command, string? stdin)
    {
        try
        {
            ProcessResult r = ManagedProcessRunner.Instance.Run(new ProcessSpec(command[0], [.. command.Skip(1)])
            {
                Stdin = stdin is null ? null : System.Text.Encoding.UTF8.GetBytes(stdin),
                Timeout = TimeSpan.FromSeconds(30),
            });
            return new ToolResult(r.ExitCode, r.StdoutText + r.StderrText);
        }
        catch (ProcessStartException e)
        {
            return new ToolResult(127, e.Message);
        }
        catch (TimeoutException e)
        {
            return new ToolResult(124, e.Message);
        }
    }

    private static string Kubeconfig(LabTopology topology, LabPaths paths, string user, string token) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: {topology.Name}
          cluster:
            server: {ServerUrl(topology)}
            certificate-authority: {Path.Combine(paths.KubePki, "ca.crt")}
        users:
        - name: {user}
          user:
            token: {token}
        contexts:
        - name: {topology.Name}
          context:
            cluster: {topology.Name}
            user: {user}
        current-context: {topology.Name}
        """;

    private static string NewToken() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    private static IPAddress LastAddress(IPNetwork network)
    {
        byte[] bytes = network.BaseAddress.GetAddressBytes();
        int hostBits = (bytes.Length * 8) - network.PrefixLength;
        for (int b = bytes.Length - 1; hostBits > 0; b--, hostBits -= 8)
        {
            bytes[b] |= (byte)(hostBits >= 8 ? 0xff : (1 << hostBits) - 1);
        }
        return new IPAddress(bytes);
    }

    private static void RunChecked(string file, IReadOnlyList<string> args, string what)
    {
        ToolResult result = Run([file, .. args], null);
        if (result.ExitCode != 0)
        {
            throw new LabStepException($"{what}: exit {result.ExitCode}: {result.Output.Trim()}");
        }
    }
}
