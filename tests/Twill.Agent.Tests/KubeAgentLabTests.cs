using System.Text.Json;
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

    private static string BackendData(KubeControlPlane cp, string node) =>
        cp.Kubectl("get", "node", node, "-o", "jsonpath={.metadata.annotations.flannel\\.alpha\\.coreos\\.com/backend-data}").EnsureSuccess("kubectl get").Stdout.Trim();

    private static bool NetworkAvailable(KubeControlPlane cp, string node)
    {
        Tool.Result r = cp.Kubectl("get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type==\"NetworkUnavailable\")].status}/{.status.conditions[?(@.type==\"NetworkUnavailable\")].reason}");
        return r.ExitCode == 0 && r.Stdout.Trim() == "False/FlannelIsUp";
    }
}
