using Twill.Cni.Conformance.Harness;
using Twill.Testing;

namespace Twill.Cni.Conformance;

/// <summary>
/// A real CNI runtime drives the plugins: Podman 4.3 with its CNI backend (libcni: conflist,
/// prevResult chaining, the portMappings capability, its result cache), started inside a node
/// namespace with `nsenter --net=` (recipe and flags: shared/reference/podman-cni.md), runs a
/// container from a local busybox image on the seed's vxlan0 network with a published port.
/// </summary>
public sealed class PodmanTests
{
    [RootTheory]
    [InlineData(PluginSet.Reference)]
    [InlineData(PluginSet.Ours)]
    public void Podman_RunOnSeedNetworkWithPublishedPort_GetsSubnetAddressAndPortAnswers(PluginSet set)
    {
        PluginDirs.EnsurePresent(set, set == PluginSet.Ours ? ["flannel", "bridge", "host-local", "portmap"] : ["bridge", "host-local", "portmap"]);
        foreach (string tool in (string[])["/usr/bin/podman", "/usr/sbin/runc", "/bin/busybox"])
        {
            Assert.True(File.Exists(tool), $"{tool} is missing: run build/install-deps.sh (podman runc busybox-static)");
        }
        using Run run = new(set);
        Node node = run.Node;
        File.WriteAllText(node.SubnetFile, SeedNetworkTests.FixtureSubnetEnv);
        string netd = Directory.CreateDirectory(Path.Combine(node.Dir, "net.d")).FullName;
        File.WriteAllText(Path.Combine(netd, "vxlan0.conflist"), set == PluginSet.Ours ? SeedNetworkTests.OursConflist(node) : SeedNetworkTests.ReferenceConflist(node));
        string conf = Path.Combine(node.Dir, "containers.conf");
        File.WriteAllText(conf, $"""
            [network]
            network_backend = "cni"
            cni_plugin_dirs = ["{node.PluginDir}"]
            network_config_dir = "{netd}"
            """);

        // A tiny local image: busybox and a page to serve; no registry involved.
        string rootfs = Path.Combine(node.Dir, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        Directory.CreateDirectory(Path.Combine(rootfs, "www"));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
        foreach (string applet in (string[])["sh", "ip", "httpd", "sleep", "cat"])
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }
        File.WriteAllText(Path.Combine(rootfs, "www", "index.html"), "hello from podman\n");
        string tag = node.Ns.Name.Replace(TestNetns.RunPrefix + "-", "", StringComparison.Ordinal);
        string image = $"localhost/twill-conformance-bb:{TestNetns.RunPrefix}-{tag}";
        string name = $"twill-conf-{TestNetns.RunPrefix}-{tag}";
        Tool.Run("sh", "-c", $"tar -C '{rootfs}' -c . | podman import - '{image}'").EnsureSuccess("podman import");

        string[] podman = ["env", $"CONTAINERS_CONF={conf}", "nsenter", $"--net={node.Ns.Path}", "podman"];
        Tool.Result Podman(params string[] args) => Tool.Run(podman[0], [.. podman[1..], .. args], stdin: null, TimeSpan.FromSeconds(120));
        try
        {
            Podman("run", "-d", "--name", name, "--runtime", "runc", "--cgroup-manager", "cgroupfs",
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                "--network", "vxlan0", "-p", "8080:80", image, "/bin/httpd", "-f", "-p", "80", "-h", "/www").EnsureSuccess("podman run");
            // Asked inside the container: podman inspect shows no address for a 0.1.0 result (the
            // seed's conflist has no cniVersion), as it cannot tie the IP to an interface.
            string addr = Podman("exec", name, "/bin/ip", "-4", "addr", "show", "eth0").EnsureSuccess("podman exec ip addr").Stdout;
            System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(addr, @"inet (10\.244\.3\.\d+)/24");
            Assert.True(m.Success, $"the container has no address from FLANNEL_SUBNET=10.244.3.1/24: {addr}");
            string ip = m.Groups[1].Value;
            Tool.Result Get(string url)
            {
                Tool.Result r = node.Ns.Exec("curl", "-s", "-S", "-m", "3", url);
                for (int i = 0; i < 15 && r.ExitCode == 7; i++)
                {
                    Thread.Sleep(200); // httpd may still be starting
                    r = node.Ns.Exec("curl", "-s", "-S", "-m", "3", url);
                }
                return r;
            }
            Tool.Result direct = Get($"http://{ip}/");
            Assert.True(direct.Stdout.Contains("hello from podman", StringComparison.Ordinal), $"container port 80 from the node: {direct}");
            Tool.Result published = Get("http://10.244.3.1:8080/");
            Assert.True(published.Stdout.Contains("hello from podman", StringComparison.Ordinal), $"published port 8080 from the node: {published}");
        }
        finally
        {
            Podman("rm", "-f", "-t", "0", name);
            Tool.Run("podman", "rmi", "-f", image);
        }
        // podman rm ran CNI DEL: the address is released and the veth is gone.
        string[] state = [.. StateProbe.Node(node, run.Norm)];
        Assert.DoesNotContain(state, l => l.Contains("kind=veth", StringComparison.Ordinal));
        Assert.DoesNotContain(state, l => l.StartsWith("datadir vxlan0/10.", StringComparison.Ordinal));
    }
}
