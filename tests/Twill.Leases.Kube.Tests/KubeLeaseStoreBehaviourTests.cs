using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Leases.Kube.Tests;

/// <summary>One API server stand-in (on its real etcd) for the suite's class; each test leaves no Node behind.</summary>
public sealed class KubeStandInFixture : IDisposable
{
    public KubeApiServer Server { get; } = KubeApiServer.Start(bookmarkInterval: TimeSpan.FromMilliseconds(500));

    public void Dispose() => Server.Dispose();
}

/// <summary>
/// The shared lease-store suite over the Kubernetes store: the API server stand-in on a real etcd;
/// "another node" is a Node object written through the API as the kubelet and flanneld write it
/// (created with its podCIDR, annotations patched on /status). By design the Node is the lease (no
/// TTL), the cluster assigns the subnet (spec.podCIDR), and watches resume from etcd's history.
/// Category=Binary: needs <c>make build</c> (out/bin/twill-kube-apiserver).
/// </summary>
[Trait("Category", "Binary")]
public sealed class KubeLeaseStoreBehaviourTests(KubeStandInFixture standIn) : LeaseStoreBehaviour, IClassFixture<KubeStandInFixture>
{
    protected override LeaseStoreHarness CreateHarness() => new KubeHarness(standIn.Server);

    private sealed class KubeHarness(KubeApiServer server) : LeaseStoreHarness
    {
        private const string Own = "own";
        private readonly HttpClient _http = server.CreateHttpClient();

        public override bool RecordsExpire => false;

        public override bool SubnetsAssignedByCluster => true;

        public override bool KeepsHistory => true;

        public override ILeaseStore CreateOwnStore(Action<string> warn) => Store(Own, warn);

        public override LeaseManagerOptions ManagerOptions(ILeaseStore store) => new() { WatchRetryInterval = TimeSpan.FromMilliseconds(100) };

        // The kubelet registers the node and kube-controller-manager assigns its podCIDR (once: the node survives agent restarts).
        public override async Task PrepareOwnNodeAsync()
        {
            using HttpResponseMessage r = await _http.GetAsync($"/api/v1/nodes/{Own}");
            if (r.StatusCode == HttpStatusCode.NotFound)
            {
                await CreateAsync(NodeJson.Json(Own, null, [OwnSubnets.IPv4!.Value.ToString()], rv: 0));
            }
        }

        public override Task PublishPeerAsync(string node, string subnet, LeaseAttrs attrs) =>
            PublishAsync(node, subnet, NodeJson.Vxlan(attrs.PublicIP.ToString(), attrs.VxlanData!.VtepMacText, attrs.VxlanData.Vni));

        public override Task PublishCorruptPeerAsync(string node, string subnet)
        {
            Dictionary<string, string> a = NodeJson.Vxlan("192.0.2.9", "02:00:00:00:00:09");
            a[NodeJson.P + "backend-data"] = """{"VNI":4096,"VtepMAC":""";
            return PublishAsync(node, subnet, a);
        }

        public override async Task RemovePeerAsync(string node, string subnet)
        {
            using HttpResponseMessage r = await _http.DeleteAsync($"/api/v1/nodes/{node}");
            await Ensure(r, $"delete node {node}");
        }

        // The skip is the store's, and its warning names the node ("node bad skipped: ...").
        public override string WarningSubject(string node, string subnet) => $"node {node} skipped";

        // The API server restarted (SIGTERM, started again on its etcd): watches break and must resume from their resourceVersion.
        public override Task InterruptWatchAsync() => Task.Run(server.Restart);

        public override Task<long> CompactHistoryAsync() => Task.FromResult(server.Etcd.Compact());

        // Flannel's annotations on this node's object, as kubectl shows them.
        public override async Task<string> ReadOwnPublicationAsync()
        {
            using JsonDocument node = JsonDocument.Parse(await _http.GetStringAsync($"/api/v1/nodes/{Own}"));
            return string.Join('\n', node.RootElement.GetProperty("metadata").GetProperty("annotations").EnumerateObject()
                .Where(a => a.Name.StartsWith(NodeJson.P, StringComparison.Ordinal))
                .Select(a => $"{a.Name}={a.Value.GetString()}")
                .Order(StringComparer.Ordinal));
        }

        public override string FlannelsPublication(LeaseAttrs attrs) => string.Join('\n',
            $$"""{{NodeJson.P}}backend-data={"VNI":{{attrs.VxlanData!.Vni}},"VtepMAC":"{{attrs.VxlanData.VtepMacText}}"}""",
            $"{NodeJson.P}backend-type=vxlan",
            $"{NodeJson.P}kube-subnet-manager=true",
            $"{NodeJson.P}public-ip={attrs.PublicIP}");

        public override ILeaseStore CreateOtherReader() => Store("reader", null);

        public override async ValueTask DisposeAsync()
        {
            using (JsonDocument list = JsonDocument.Parse(await _http.GetStringAsync("/api/v1/nodes")))
            {
                foreach (JsonElement item in list.RootElement.GetProperty("items").EnumerateArray())
                {
                    await RemovePeerAsync(item.GetProperty("metadata").GetProperty("name").GetString()!, "");
                }
            }
            _http.Dispose();
        }

        private KubeLeaseStore Store(string node, Action<string>? warn) => new(new KubeStoreOptions
        {
            KubeconfigFile = server.KubeconfigPath,
            NodeName = node,
            PodCidrRetryInterval = TimeSpan.FromMilliseconds(200),
            RetryInterval = TimeSpan.FromMilliseconds(100),
            MaxRetryInterval = TimeSpan.FromSeconds(1),
        }, warn);

        /// <summary>A peer node: created with its podCIDR and annotations when new, else its annotations patched on /status (flanneld's write).</summary>
        private async Task PublishAsync(string node, string subnet, Dictionary<string, string> annotations)
        {
            using HttpResponseMessage created = await PostAsync(NodeJson.Json(node, annotations, [subnet], rv: 0));
            if (created.StatusCode != HttpStatusCode.Conflict)
            {
                await Ensure(created, $"create node {node}");
                return;
            }
            using StringContent body = new(AnnotationPatch(annotations), Encoding.UTF8);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/strategic-merge-patch+json");
            using HttpResponseMessage patched = await _http.PatchAsync($"/api/v1/nodes/{node}/status", body);
            await Ensure(patched, $"patch node {node}");
        }

        private static string AnnotationPatch(Dictionary<string, string> annotations)
        {
            using MemoryStream stream = new();
            using (Utf8JsonWriter w = new(stream))
            {
                w.WriteStartObject();
                w.WriteStartObject("metadata");
                w.WriteStartObject("annotations");
                foreach ((string k, string v) in annotations)
                {
                    w.WriteString(k, v);
                }
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }

        private async Task CreateAsync(string json)
        {
            using HttpResponseMessage r = await PostAsync(json);
            await Ensure(r, "create node");
        }

        private Task<HttpResponseMessage> PostAsync(string json)
        {
            StringContent body = new(json, Encoding.UTF8, "application/json");
            return _http.PostAsync("/api/v1/nodes", body);
        }

        private static async Task Ensure(HttpResponseMessage r, string what)
        {
            if (!r.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{what}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            }
        }
    }
}
