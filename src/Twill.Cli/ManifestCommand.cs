using System.CommandLine;
using Twill.Cli.Manifest;

namespace Twill.Cli;

/// <summary><c>twill manifest</c>: prints deploy/twill.yml with the user's network values, or why they cannot work.</summary>
internal static class ManifestCommand
{
    public static Command Create()
    {
        ManifestOptions d = new();
        Option<string> backend = new("--backend") { Description = "vxlan or host-gw", DefaultValueFactory = _ => d.Backend };
        Option<string> network = new("--network") { Description = "the pod network (kubeadm's --pod-network-cidr)", DefaultValueFactory = _ => d.Network };
        Option<int?> vni = new("--vni") { Description = "VXLAN VNI (default 4096)" };
        Option<int?> port = new("--port") { Description = "VXLAN UDP port (default 4789)" };
        Option<bool> directRouting = new("--direct-routing") { Description = "vxlan: direct routes between nodes on one L2 segment" };
        Option<bool> gbp = new("--gbp") { Description = "vxlan: Group Based Policy extension" };
        Option<string> image = new("--image") { Description = "the Twill image", DefaultValueFactory = _ => d.Image };
        Option<bool> windows = new("--windows") { Description = "the cluster has Windows nodes: refuse what they cannot join" };
        Command command = new("manifest", "Print the Kubernetes manifest that installs Twill (Namespace, RBAC, ConfigMap with net-conf.json and the vxlan0 conflist, DaemonSet).")
        {
            backend, network, vni, port, directRouting, gbp, image, windows,
        };
        command.SetAction(parse =>
        {
            ManifestOptions options = new()
            {
                Backend = parse.GetValue(backend)!,
                Network = parse.GetValue(network)!,
                Vni = parse.GetValue(vni),
                Port = parse.GetValue(port),
                DirectRouting = parse.GetValue(directRouting),
                Gbp = parse.GetValue(gbp),
                Image = parse.GetValue(image)!,
                Windows = parse.GetValue(windows),
            };
            (string? yaml, IReadOnlyList<string> refusals) = ManifestRenderer.Render(options);
            if (yaml is null)
            {
                foreach (string r in refusals)
                {
                    Console.Error.WriteLine($"twill manifest: {r}");
                }
                return ExitCodes.Usage;
            }
            Console.Out.Write(yaml);
            return 0;
        });
        return command;
    }
}
