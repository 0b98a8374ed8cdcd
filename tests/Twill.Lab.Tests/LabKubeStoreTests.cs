using System.Text.Json;
using Twill.Testing;

namespace Twill.Lab.Tests;

/// <summary>
/// `twill lab up --store kube`: etcd and the API server stand-in in the control-plane namespace, a
/// Node per lab node with its podCIDR, agents with --kube-subnet-mgr. The real kubectl reads the
/// cluster through the lab's admin kubeconfig, and a node deleted with kubectl loses its routes.
/// </summary>
public sealed class LabKubeStoreTests
{
    private static string Kubeconfig(string name) => $"/run/twill/lab/{name}/kubeconfig";

    private static string Kubectl(string name, params string[] args)
    {
        Tool.Result r = LabHarness.Exec(name, "cp", ["kubectl", "--kubeconfig", Kubeconfig(name), "--request-timeout=10s", .. args]);
        Assert.True(r.ExitCode == 0, $"kubectl {string.Join(' ', args)} exited {r.ExitCode}: {r.Stderr}{r.Stdout}");
        return r.Stdout;
    }

    [RootFact]
    public void Up_KubeStoreVxlan_CheckPasses_KubectlSeesFlannelsAnnotations_DeletedNodeLosesItsRoutes()
    {
        string name = LabHarness.NewName();
        try
        {
            LabHarness.Up(name, "--nodes", "3", "--store", "kube", "--backend", "vxlan", "--underlay", "l2");
            Assert.True(File.Exists(Kubeconfig(name)), "the lab's admin kubeconfig is missing");
            LabHarness.Check(name, "30/30 pod pairs reachable, 6/6 hostPorts, 6/6 pods reach a foreign node");

            using JsonDocument nodes = JsonDocument.Parse(Kubectl(name, "get", "nodes", "-o", "json"));
            LabState state = LabHarness.State(name);
            JsonElement[] items = [.. nodes.RootElement.GetProperty("items").EnumerateArray()];
            Assert.Equal(3, items.Length);
            foreach (JsonElement item in items)
            {
                string node = item.GetProperty("metadata").GetProperty("name").GetString()!;
                JsonElement annotations = item.GetProperty("metadata").GetProperty("annotations");
                Assert.Equal("true", annotations.GetProperty("flannel.alpha.coreos.com/kube-subnet-manager").GetString());
                Assert.Equal("vxlan", annotations.GetProperty("flannel.alpha.coreos.com/backend-type").GetString());
                Assert.Equal(LabHarness.Node(state, node).Address, annotations.GetProperty("flannel.alpha.coreos.com/public-ip").GetString());
                Assert.StartsWith("{\"VNI\":4096,\"VtepMAC\":\"", annotations.GetProperty("flannel.alpha.coreos.com/backend-data").GetString(), StringComparison.Ordinal);
                // The lease is the node's podCIDR, as kube-controller-manager assigned it.
                Assert.Equal(LabHarness.PodNetwork(LabHarness.Node(state, node)), item.GetProperty("spec").GetProperty("podCIDR").GetString());
                JsonElement unavailable = item.GetProperty("status").GetProperty("conditions").EnumerateArray()
                    .Single(c => c.GetProperty("type").GetString() == "NetworkUnavailable");
                Assert.Equal("False", unavailable.GetProperty("status").GetString());
            }

            // twill lab status shows each Node's annotations and NetworkUnavailable as the API server holds them.
            Tool.Result status = LabHarness.Run("lab", "status", "--name", name);
            Assert.True(status.ExitCode == 0, $"lab status failed ({status.ExitCode}):\n{status.Stdout}\n{status.Stderr}");
            Assert.Contains("NetworkUnavailable", status.Stdout, StringComparison.Ordinal);
            foreach (JsonElement item in items)
            {
                string node = item.GetProperty("metadata").GetProperty("name").GetString()!;
                string data = item.GetProperty("metadata").GetProperty("annotations").GetProperty("flannel.alpha.coreos.com/backend-data").GetString()!;
                string mac = JsonDocument.Parse(data).RootElement.GetProperty("VtepMAC").GetString()!;
                string row = status.Stdout.Split('\n').Single(l => l.Contains(mac, StringComparison.Ordinal));
                Assert.Contains(node, row, StringComparison.Ordinal);
                Assert.Contains(LabHarness.Node(state, node).Address, row, StringComparison.Ordinal);
                Assert.Contains("vxlan", row, StringComparison.Ordinal);
                Assert.Contains("False (FlannelIsUp)", row, StringComparison.Ordinal);
            }

            string node3Subnet = LabHarness.PodNetwork(LabHarness.Node(state, "node3"));
            Assert.NotNull(LabHarness.RouteTo(name, "node1", node3Subnet));
            Kubectl(name, "delete", "node", "node3");
            Assert.True(LabHarness.Eventually(TimeSpan.FromSeconds(30), () => LabHarness.RouteTo(name, "node1", node3Subnet) is null),
                $"node1 still routes {node3Subnet} after `kubectl delete node node3`");
        }
        finally
        {
            LabHarness.Down(name);
        }
        LabHarness.AssertNothingLeft(name);
    }

    [RootFact]
    public void Up_KubeStoreHostGw_CheckPasses()
    {
        string name = LabHarness.NewName();
        try
        {
            LabHarness.Up(name, "--nodes", "3", "--store", "kube", "--backend", "host-gw", "--underlay", "l2");
            LabHarness.Check(name, "30/30 pod pairs reachable, 6/6 hostPorts, 6/6 pods reach a foreign node");
            using JsonDocument node = JsonDocument.Parse(Kubectl(name, "get", "node", "node2", "-o", "json"));
            JsonElement annotations = node.RootElement.GetProperty("metadata").GetProperty("annotations");
            Assert.Equal("host-gw", annotations.GetProperty("flannel.alpha.coreos.com/backend-type").GetString());
            Assert.Equal("null", annotations.GetProperty("flannel.alpha.coreos.com/backend-data").GetString());
        }
        finally
        {
            LabHarness.Down(name);
        }
        LabHarness.AssertNothingLeft(name);
    }
}
