using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Twill.Testing;

namespace Twill.KubeApi.Tests;

/// <summary>The real kubectl (/usr/bin/kubectl) against the stand-in over https with the CA and a token, as a user runs it.</summary>
[Trait("Category", "Binary")]
public sealed class KubectlTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private KubeApiServer Server => fixture.Server;

    private static string Unique(string name) => $"{name}-{Guid.NewGuid().ToString("N")[..6]}";

    private string Kubectl(params string[] args)
    {
        Tool.Result r = Server.Kubectl(args);
        Assert.True(r.ExitCode == 0, $"kubectl {string.Join(' ', args)} exited {r.ExitCode}: {r.Stderr}{r.Stdout}");
        return r.Stdout;
    }

    /// <summary>A node file as a kubelet would register it: the Flannel fixture under another name.</summary>
    private string NodeFile(string name)
    {
        JsonObject node = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "node.linux-vxlan.json")))!;
        node["metadata"]!["name"] = name;
        node["metadata"]!["labels"]!["kubernetes.io/hostname"] = name;
        node["status"]!["nodeInfo"] = new JsonObject { ["kubeletVersion"] = "v1.32.4", ["osImage"] = "Debian GNU/Linux 12 (bookworm)", ["kernelVersion"] = "6.1.0-28-amd64", ["containerRuntimeVersion"] = "containerd://1.7.24" };
        string path = Path.Combine(Server.Directory, name + ".json");
        File.WriteAllText(path, node.ToJsonString());
        return path;
    }

    private async Task<JsonObject> GetNodeAsync(string name)
    {
        using ApiClient api = new(Server.CreateHttpClient());
        (HttpStatusCode code, JsonObject body) = await api.GetAsync("/api/v1/nodes/" + name);
        Assert.Equal(HttpStatusCode.OK, code);
        return body;
    }

    [Fact]
    public void CreateFile_ThenGetNodesWide_PrintsTheServerSideColumns()
    {
        string name = Unique("wide");
        Assert.Contains($"node/{name} created", Kubectl("create", "-f", NodeFile(name)), StringComparison.Ordinal);
        string[] lines = Kubectl("get", "nodes", "-o", "wide").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME$", lines[0]);
        string row = lines.Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        Assert.Matches(@"\s+Unknown\s+<none>\s+\d+s\s+v1\.32\.4\s+192\.0\.2\.11\s+<none>\s+Debian GNU/Linux 12 \(bookworm\)\s+6\.1\.0-28-amd64\s+containerd://1\.7\.24$", row);

        Tool.Result again = Server.Kubectl("create", "-f", NodeFile(name));
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("AlreadyExists", again.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void GetNodesJson_IsTheObjects()
    {
        string name = Unique("json");
        Kubectl("create", "-f", NodeFile(name));
        JsonObject list = (JsonObject)JsonNode.Parse(Kubectl("get", "nodes", "-o", "json"))!;
        JsonObject node = list["items"]!.AsArray().OfType<JsonObject>().Single(n => n["metadata"]!["name"]!.GetValue<string>() == name);
        Assert.Equal("vxlan", node["metadata"]!["annotations"]!["flannel.alpha.coreos.com/backend-type"]!.GetValue<string>());
        Assert.Equal("10.244.1.0/24", node["spec"]!["podCIDR"]!.GetValue<string>());
        JsonObject one = (JsonObject)JsonNode.Parse(Kubectl("get", "node", name, "-o", "json"))!;
        Assert.Equal("Node", one["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnnotateAndLabel_ReachTheObject_AndLabelSelectorsSelect()
    {
        string name = Unique("annotate");
        Kubectl("create", "-f", NodeFile(name));
        Assert.Contains("annotated", Kubectl("annotate", "node", name, "flannel.alpha.coreos.com/public-ip-overwrite=203.0.113.9"), StringComparison.Ordinal);
        Assert.Contains("labeled", Kubectl("label", "node", name, "twill.test/pick=" + name), StringComparison.Ordinal);
        JsonObject node = await GetNodeAsync(name);
        Assert.Equal("203.0.113.9", node["metadata"]!["annotations"]!["flannel.alpha.coreos.com/public-ip-overwrite"]!.GetValue<string>());
        Assert.Equal(name, Kubectl("get", "nodes", "-l", "twill.test/pick=" + name, "-o", "name").Trim().Replace("node/", "", StringComparison.Ordinal));

        Kubectl("annotate", "node", name, "flannel.alpha.coreos.com/public-ip-overwrite-");
        Assert.Null((await GetNodeAsync(name))["metadata"]!["annotations"]!["flannel.alpha.coreos.com/public-ip-overwrite"]);
    }

    [Fact]
    public async Task PatchStatusSubresource_MergeJsonStrategic_ChangeStatusAndAnnotations()
    {
        string name = Unique("status");
        Kubectl("create", "-f", NodeFile(name));
        Kubectl("patch", "node", name, "--subresource=status", "--type", "merge", "-p", """{"metadata":{"annotations":{"flannel.alpha.coreos.com/backend-type":"host-gw"}},"spec":{"unschedulable":true}}""");
        Kubectl("patch", "node", name, "--subresource=status", "--type", "json", "-p", """[{"op":"replace","path":"/metadata/annotations/flannel.alpha.coreos.com~1backend-data","value":"null"}]""");
        Kubectl("patch", "node", name, "--subresource=status", "--type", "strategic", "-p", """{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"}]}}""");
        JsonObject node = await GetNodeAsync(name);
        Assert.Equal("host-gw", node["metadata"]!["annotations"]!["flannel.alpha.coreos.com/backend-type"]!.GetValue<string>());
        Assert.Equal("null", node["metadata"]!["annotations"]!["flannel.alpha.coreos.com/backend-data"]!.GetValue<string>());
        Assert.Null(node["spec"]!["unschedulable"]);
        string[] types = [.. node["status"]!["conditions"]!.AsArray().Select(c => c!["type"]!.GetValue<string>())];
        Assert.Equal(["NetworkUnavailable", "Ready"], types.Order(StringComparer.Ordinal));
        Assert.Matches($@"(?m)^{name}\s+Ready\s", Kubectl("get", "nodes"));
    }

    [Fact]
    public async Task Delete_RemovesTheNode()
    {
        string name = Unique("delete");
        Kubectl("create", "-f", NodeFile(name));
        Assert.Contains($"node \"{name}\" deleted", Kubectl("delete", "node", name), StringComparison.Ordinal);
        using ApiClient api = new(Server.CreateHttpClient());
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/api/v1/nodes/" + name)).Code);
        Tool.Result missing = Server.Kubectl("get", "node", name);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("NotFound", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongToken_Unauthorized()
    {
        Tool.Result r = Server.Kubectl("--token=wrong-token", "get", "nodes");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("Unauthorized", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Replace_WithAStaleResourceVersion_Conflict()
    {
        string name = Unique("replace");
        Kubectl("create", "-f", NodeFile(name));
        string stale = Kubectl("get", "node", name, "-o", "json");
        Kubectl("label", "node", name, "changed=yes");
        Tool.Result r = Server.Kubectl(["replace", "-f", "-"], stale);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("the object has been modified", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void GetNodesWatch_PrintsTheChangeAsItHappens()
    {
        string name = Unique("watch");
        Kubectl("create", "-f", NodeFile(name));
        ProcessStartInfo psi = new(KubeApiServer.KubectlPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "--kubeconfig=" + Server.KubeconfigPath, "get", "nodes", "--watch", "--field-selector=metadata.name=" + name })
        {
            psi.ArgumentList.Add(a);
        }
        using Process watch = Process.Start(psi)!;
        try
        {
            List<string> lines = [];
            string Next()
            {
                Task<string?> line = watch.StandardOutput.ReadLineAsync();
                Assert.True(line.Wait(TimeSpan.FromSeconds(30)), $"kubectl get --watch printed nothing more; so far: {string.Join(" | ", lines)}");
                lines.Add(line.Result ?? "<end>");
                return lines[^1];
            }
            Assert.StartsWith("NAME", Next(), StringComparison.Ordinal);
            Assert.StartsWith(name, Next(), StringComparison.Ordinal);
            Assert.Matches(@"\sUnknown\s", lines[^1]);
            Kubectl("patch", "node", name, "--subresource=status", "--type", "strategic", "-p", """{"status":{"conditions":[{"type":"Ready","status":"True"}]}}""");
            string changed = Next();
            Assert.StartsWith(name, changed, StringComparison.Ordinal);
            Assert.Matches(@"\sReady\s", changed);
        }
        finally
        {
            watch.Kill();
            watch.WaitForExit(5000);
        }
    }

    [Fact]
    public async Task ApplyManifest_DryRunThenForReal_ThenUnchanged_ThenDelete()
    {
        // A DaemonSet manifest's kinds (Namespace, ServiceAccount, RBAC, ConfigMap, DaemonSet) across /api and /apis groups.
        string manifest = Path.Combine(AppContext.BaseDirectory, "manifest.yml");
        string dry = Kubectl("apply", "--dry-run=client", "-f", manifest);
        Assert.Contains("daemonset.apps/kube-flannel-ds created (dry run)", dry, StringComparison.Ordinal);
        string applied = Kubectl("apply", "-f", manifest);
        Assert.Contains("clusterrolebinding.rbac.authorization.k8s.io/flannel created", applied, StringComparison.Ordinal);
        Assert.Contains("daemonset.apps/kube-flannel-ds created", applied, StringComparison.Ordinal);
        Assert.Equal(6, Kubectl("apply", "-f", manifest).Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.EndsWith(" unchanged", StringComparison.Ordinal)));
        Assert.Contains("/registry/daemonsets/kube-flannel/kube-flannel-ds", Server.Etcd.Etcdctl("get", "/registry/", "--prefix", "--keys-only"), StringComparison.Ordinal);
        using ApiClient api = new(Server.CreateHttpClient());
        JsonObject role = (await api.GetAsync("/apis/rbac.authorization.k8s.io/v1/clusterroles/flannel")).Body;
        Assert.Equal("rbac.authorization.k8s.io/v1", role["apiVersion"]!.GetValue<string>());
        Assert.Equal("nodes", role["rules"]![0]!["resources"]![0]!.GetValue<string>());
        Assert.Contains("configmap \"kube-flannel-cfg\" deleted", Kubectl("delete", "-f", manifest), StringComparison.Ordinal);
    }
}
