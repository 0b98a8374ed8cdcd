using System.Diagnostics;
using System.Security.Cryptography;
using k8s.Models;
using Twill.Lab;
using Twill.Testing;
using Xunit.Abstractions;

namespace Twill.Deploy.Tests;

/// <summary>
/// The proof of deploy/: the manifest `twill manifest` renders, loaded into the official client's
/// models, is run on every node of a `--store kube` lab the way a kubelet runs the DaemonSet — its
/// init container, then the agent container, from the image `make image` built, with the host
/// network, its volumes, env and in-cluster service account (no kubeconfig). Then the lab adds pods
/// with the plugins and the conflist the init container installed on each node, and `twill lab
/// check`'s matrix must pass; `kubectl apply --dry-run` accepts the manifest against the lab's API
/// server. One lab for all of it: it is the expensive part.
/// </summary>
[Trait("Category", "Binary")]
public sealed class DaemonSetPodmanTests
{
    private readonly ITestOutputHelper _output;

    public DaemonSetPodmanTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [RootFact]
    public void RenderedDaemonSet_RunAsAKubeletWouldWithPodman_PodsReachEachOtherAcrossNodes_KubectlAcceptsTheManifest()
    {
        DeployManifest manifest = DeployManifest.Render(ContainerImage.Twill);
        V1DaemonSet ds = manifest.DaemonSet;
        string image = ds.Spec.Template.Spec.Containers.Single().Image;
        Assert.All(ds.Spec.Template.Spec.InitContainers, c => Assert.Equal(image, c.Image));
        Stopwatch sw = Stopwatch.StartNew();
        ContainerImage.EnsureBuilt(image);
        _output.WriteLine($"image {image} ready in {sw.Elapsed.TotalSeconds:0.0} s");

        string name = "d" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        LabController lab = new(new Reporter(_output)) { TwillPath = ContainerImage.Twill, Agents = new PodmanKubelet(manifest, name) };
        PodmanKubelet kubelet = (PodmanKubelet)lab.Agents!;
        try
        {
            // l3: each node has a default route (via the router), as a real node does; the agent
            // finds its interface and public IP from it, since the DaemonSet passes neither.
            LabTopology topology = lab.Up(new LabOptions
            {
                Name = name,
                Nodes = 3,
                Store = LabStore.Kube,
                Underlay = LabUnderlay.L3,
                NetConf = manifest.ConfigFile("net-conf.json"),
                NetConfSource = "the ConfigMap's net-conf.json",
                CniConf = manifest.ConfigFile("cni-conf.json"),
                CniConfSource = "the ConfigMap's cni-conf.json",
            });
            _output.WriteLine($"lab up (DaemonSet pods via Podman) in {sw.Elapsed.TotalSeconds:0.0} s");

            V1Container agent = ds.Spec.Template.Spec.Containers.Single();
            foreach (LabNode node in topology.Nodes)
            {
                // What the init container installed, where a kubelet and its runtime look.
                LabNodeCni cni = kubelet.Cni(node);
                string netD = kubelet.HostPath(node, "/etc/cni/net.d");
                Assert.Equal(["10-twill.conflist"], Directory.EnumerateFiles(netD).Select(Path.GetFileName));
                Assert.Equal(manifest.ConfigFile("cni-conf.json"), File.ReadAllText(Path.Combine(netD, "10-twill.conflist")));
                Assert.All(cni.CniConf.Types, t => Assert.True(File.Exists(Path.Combine(cni.CniPath, t)), $"{node.Name}: {t} not installed in /opt/cni/bin"));
                Assert.Empty(Directory.EnumerateFiles(cni.CniPath, ".*"));
                Assert.True(Eventually(TimeSpan.FromSeconds(30), () => kubelet.Probe(node, agent.ReadinessProbe) == 200),
                    $"{node.Name}: readinessProbe {agent.ReadinessProbe.HttpGet.Path} never answered 200; {kubelet.LogTail(node)}");
                Assert.Equal(200, kubelet.Probe(node, agent.LivenessProbe));
            }

            Tool.Result check = Tool.Run(ContainerImage.Twill, ["lab", "check", "--name", name], stdin: null, timeout: TimeSpan.FromSeconds(150));
            _output.WriteLine(check.Stdout);
            Assert.True(check.ExitCode == 0, $"lab check failed ({check.ExitCode}):\n{check.Stdout}\n{check.Stderr}");
            Assert.Contains("30/30 pod pairs reachable, 6/6 hostPorts, 6/6 pods reach a foreign node", check.Stdout, StringComparison.Ordinal);

            AssertKubectlAccepts(lab.Paths(name), topology, manifest);
        }
        finally
        {
            kubelet.Dispose();
            lab.Down(name);
        }
        Assert.True(kubelet.Leftovers.Count == 0, "processes left in the node namespaces after the containers were removed:\n" + string.Join('\n', kubelet.Leftovers));
        Assert.Equal("", Tool.Run("podman", "ps", "--all", "--quiet", "--filter", "name=^" + kubelet.ContainerPrefix).Stdout.Trim());
        Assert.False(Directory.Exists(lab.Paths(name).Root), $"the lab's state directory {lab.Paths(name).Root} is left behind");
        Assert.DoesNotContain(Tool.Check("ip", "netns", "list").Split('\n'), l => l.StartsWith($"twl-{name}-", StringComparison.Ordinal));
        _output.WriteLine($"done in {sw.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>kubectl apply, client-side and server-side dry runs, against the lab's API server: each object accepted, none stored.</summary>
    private static void AssertKubectlAccepts(LabPaths paths, LabTopology topology, DeployManifest manifest)
    {
        string file = Path.Combine(paths.Root, "twill.yml");
        File.WriteAllText(file, manifest.Yaml);
        string Kubectl(params string[] args)
        {
            Tool.Result r = Tool.Run("nsenter", ["--net=/var/run/netns/" + topology.ControlPlane!.Namespace, "kubectl", "--kubeconfig", paths.Kubeconfig, "--request-timeout=20s", .. args], stdin: null);
            Assert.True(r.ExitCode == 0, $"kubectl {string.Join(' ', args)} exited {r.ExitCode}: {r.Stderr}{r.Stdout}");
            return r.Stdout;
        }
        foreach (string mode in new[] { "client", "server" })
        {
            string applied = Kubectl("apply", $"--dry-run={mode}", "-f", file);
            foreach (string kind in new[] { "namespace/kube-twill", "serviceaccount/twill", "clusterrole.rbac.authorization.k8s.io/twill",
                         "clusterrolebinding.rbac.authorization.k8s.io/twill", "configmap/twill-cfg", "daemonset.apps/twill" })
            {
                Assert.Contains($"{kind} created ({(mode == "client" ? "dry run" : "server dry run")})", applied, StringComparison.Ordinal);
            }
        }
        Assert.Equal("", Kubectl("get", "daemonsets", "--all-namespaces", "--ignore-not-found", "-o", "name").Trim());
    }

    private static bool Eventually(TimeSpan within, Func<bool> condition)
    {
        Stopwatch sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > within)
            {
                return false;
            }
            Thread.Sleep(250);
        }
        return true;
    }

    private sealed class Reporter(ITestOutputHelper output) : ILabReporter
    {
        public void Step(string what, TimeSpan elapsed) => output.WriteLine($"  {what} ({elapsed.TotalSeconds:0.0} s)");

        public void Note(string text) => output.WriteLine("  " + text);

        public void Warn(string text) => output.WriteLine("  warning: " + text);
    }
}
