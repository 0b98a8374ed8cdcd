using System.Text.Json;
using Twill.Core;
using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>
/// Whole agents with <c>--kube-subnet-mgr</c> in node namespaces, the API server stand-in and its etcd
/// in the switch namespace (192.0.2.1), the real kubectl playing kubelet and controller-manager.
/// </summary>
public class KubeAgentLabTests
{
    private const string VxlanConf = """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""";

    [RootFact]
    public void Vxlan_ThreeNodesKubeSubnetMgr_PodsTalkNodesAnnotatedDeletedNodeLosesItsRoute()
    {
        KubeControlPlane? cp = null;
        AgentLab? built = null;
        try
        {
            AgentLab lab = built = new(VxlanConf, 3, storeArgs: ["--kube-subnet-mgr", "--kubeconfig-file", "PLACEHOLDER"], beforeAgents: l =>
            {
                cp = new KubeControlPlane(l.Switch, l.Dir);
                for (int i = 1; i <= 3; i++)
                {
                    cp.Kubectl(["create", "-f", "-"], $$$"""{"apiVersion":"v1","kind":"Node","metadata":{"name":"n{{{i}}}"},"spec":{"podCIDR":"10.244.{{{i}}}.0/24","podCIDRs":["10.244.{{{i}}}.0/24"]}}""")
                        .EnsureSuccess("kubectl create node");
                }
                l.UseStoreArgs(["--kube-subnet-mgr", "--kubeconfig-file", cp.KubeconfigPath]);
            });
            string Diagnose() => string.Join("\n---\n", Enumerable.Range(0, 3).Select(lab.Log)) + "\n--- stand-in:\n" + cp!.LogTail();

            // Each node's subnet is its podCIDR (the cluster's choice, not a lease).
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal($"10.244.{i + 1}.1/24", lab.WaitSubnetEnv(i).Subnet!.ToString());
            }
            for (int a = 0; a < 3; a++)
            {
                for (int b = 0; b < 3; b++)
                {
                    if (a != b)
                    {
                        Assert.True(AgentLab.Eventually(() => lab.Ping(a, b), TimeSpan.FromSeconds(30)), $"pod {a + 1} -> pod {b + 1}\n{Diagnose()}");
                    }
                }
            }

            // Flannel's annotations and condition, as kubectl shows them.
            Assert.True(AgentLab.Eventually(() => NetworkAvailable(cp!, "n1"), TimeSpan.FromSeconds(30)), "NetworkUnavailable=False on n1\n" + Diagnose());
            using (JsonDocument n1 = JsonDocument.Parse(cp!.Kubectl("get", "node", "n1", "-o", "json").EnsureSuccess("kubectl get").Stdout))
            {
                JsonElement a = n1.RootElement.GetProperty("metadata").GetProperty("annotations");
                Assert.Equal("vxlan", a.GetProperty("flannel.alpha.coreos.com/backend-type").GetString());
                Assert.Equal("192.0.2.11", a.GetProperty("flannel.alpha.coreos.com/public-ip").GetString());
                Assert.Equal("true", a.GetProperty("flannel.alpha.coreos.com/kube-subnet-manager").GetString());
                Assert.StartsWith("{\"VNI\":4096,\"VtepMAC\":\"", a.GetProperty("flannel.alpha.coreos.com/backend-data").GetString(), StringComparison.Ordinal);
            }

            // kubectl delete node reaches the kernel: n3's route leaves n1.
            Assert.Contains(lab.TwillRoutes(0), r => r.StartsWith("10.244.3.0/24", StringComparison.Ordinal));
            cp.Kubectl("delete", "node", "n3").EnsureSuccess("kubectl delete");
            Assert.True(AgentLab.Eventually(() => !lab.TwillRoutes(0).Any(r => r.StartsWith("10.244.3.0/24", StringComparison.Ordinal)), TimeSpan.FromSeconds(30)),
                "n3's route gone from n1\n" + Diagnose());
            Assert.True(lab.Ping(0, 1), "pod 1 -> pod 2 after n3 left");

            // A wiped state directory and a lost device: the VtepMAC comes back from n1's own backend-data,
            // so n2's FDB entry for n1 stays right.
            string published = BackendData(cp, "n1");
            Assert.Equal(0, lab.StopAgent(0));
            foreach (string f in Directory.GetFiles(lab.StateDir(0), "vtep-mac*"))
            {
                File.Delete(f);
            }
            lab.Nodes[0].Ip("link", "del", "flannel.4096");
            lab.StartAgent(0);
            Assert.True(AgentLab.Eventually(() => lab.Ping(0, 1), TimeSpan.FromSeconds(30)), "pod 1 -> pod 2 after the wiped restart\n" + Diagnose());
            string mac = lab.Nodes[0].IpJson("link", "show", "flannel.4096")[0].GetProperty("address").GetString()!;
            Assert.Equal(published, BackendData(cp, "n1"));
            Assert.Contains($"\"VtepMAC\":\"{mac}\"", published, StringComparison.Ordinal);
        }
        finally
        {
            // The control plane first: the agents' store goes away, then the agents and namespaces.
            cp?.Dispose();
            built?.Dispose();
        }
    }

    [RootFact]
    public void DualStackVxlan_KubeSubnetMgr_V4AndV6PodCidrsPublishedAndPodsTalkOverBothFamilies()
    {
        using KubeLab kube = new("""{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""",
            [["10.244.1.0/24", "fd00:10:244:1::/64"], ["10.244.2.0/24", "fd00:10:244:2::/64"]]);
        AgentLab lab = kube.Lab;
        KubeControlPlane cp = kube.ControlPlane;

        // Both subnets are the node's podCIDRs, not leased.
        for (int i = 0; i < 2; i++)
        {
            SubnetEnv env = lab.WaitSubnetEnv(i);
            Assert.Equal($"10.244.{i + 1}.1/24", env.Subnet!.ToString());
            Assert.Equal($"fd00:10:244:{i + 1}::1/64", env.IPv6Subnet!.ToString());
        }
        Assert.True(AgentLab.Eventually(() => lab.PingFamily(0, 1, "-6") && lab.PingFamily(1, 0, "-6"), TimeSpan.FromSeconds(30)),
            "ping -6 pod1 <-> pod2\n" + kube.Diagnose());
        Assert.True(AgentLab.Eventually(() => lab.PingFamily(0, 1, "-4") && lab.PingFamily(1, 0, "-4"), TimeSpan.FromSeconds(30)),
            "ping -4 pod1 <-> pod2\n" + kube.Diagnose());
        Assert.Equal(["fd00:10:244:2::/64"], lab.TwillRoutes(0, "-6"));
        Assert.Equal(["10.244.2.0/24"], lab.TwillRoutes(0, "-4"));

        // Each node publishes both families' data, as Flannel's dual-stack nodes do; the MACs are the devices'.
        for (int i = 0; i < 2; i++)
        {
            string node = $"n{i + 1}";
            Assert.Equal($"192.0.2.{11 + i}", Annotation(cp, node, "public-ip"));
            Assert.Equal($"2001:db8::{11 + i}", Annotation(cp, node, "public-ipv6"));
            string mac = lab.Nodes[i].IpJson("link", "show", "flannel.4096")[0].GetProperty("address").GetString()!;
            string mac6 = lab.Nodes[i].IpJson("link", "show", "flannel-v6.4096")[0].GetProperty("address").GetString()!;
            Assert.Equal($"{{\"VNI\":4096,\"VtepMAC\":\"{mac}\"}}", Annotation(cp, node, "backend-data"));
            Assert.Equal($"{{\"VNI\":4096,\"VtepMAC\":\"{mac6}\"}}", Annotation(cp, node, "backend-v6-data"));
        }
        // n1 reaches n2's IPv6 pods through n2's IPv6 VTEP: neighbour and FDB entry from n2's backend-v6-data.
        string n2mac6 = lab.Nodes[1].IpJson("link", "show", "flannel-v6.4096")[0].GetProperty("address").GetString()!;
        Assert.Contains(lab.Nodes[0].IpJson("-6", "neigh", "show", "dev", "flannel-v6.4096").EnumerateArray(),
            n => n.GetProperty("dst").GetString() == "fd00:10:244:2::" && n.GetProperty("lladdr").GetString() == n2mac6);
        Assert.Contains($"{n2mac6} dst 2001:db8::12", lab.Nodes[0].Exec("bridge", "fdb", "show", "dev", "flannel-v6.4096").Stdout, StringComparison.Ordinal);
    }

    private static string Annotation(KubeControlPlane cp, string node, string name) =>
        cp.Kubectl("get", "node", node, "-o", $"jsonpath={{.metadata.annotations.flannel\\.alpha\\.coreos\\.com/{name}}}").EnsureSuccess("kubectl get").Stdout.Trim();

    private static string BackendData(KubeControlPlane cp, string node) =>
        cp.Kubectl("get", "node", node, "-o", "jsonpath={.metadata.annotations.flannel\\.alpha\\.coreos\\.com/backend-data}").EnsureSuccess("kubectl get").Stdout.Trim();

    private static bool NetworkAvailable(KubeControlPlane cp, string node)
    {
        Tool.Result r = cp.Kubectl("get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type==\"NetworkUnavailable\")].status}/{.status.conditions[?(@.type==\"NetworkUnavailable\")].reason}");
        return r.ExitCode == 0 && r.Stdout.Trim() == "False/FlannelIsUp";
    }
}
