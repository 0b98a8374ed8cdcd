using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Twill.Core;
using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Leases.Kube.Tests;

/// <summary>
/// The Kubernetes store against the API server stand-in (out/bin/twill-kube-apiserver on a real etcd),
/// changes made with the real kubectl. Category=Binary: needs <c>make build</c>.
/// </summary>
[Trait("Category", "Binary")]
public sealed class KubeStoreStandInTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly NetworkConfig Vxlan = NodeLeaseTableTests.Vxlan;
    private readonly KubeApiServer _server = KubeApiServer.Start(bookmarkInterval: TimeSpan.FromMilliseconds(500));
    private readonly List<string> _warnings = [];
    private readonly List<string> _problems = [];

    public void Dispose() => _server.Dispose();

    private KubeLeaseStore Store(string node = "own", string? kubeconfig = null, int pageSize = 250) =>
        new(new KubeStoreOptions
        {
            KubeconfigFile = kubeconfig ?? _server.KubeconfigPath,
            NodeName = node,
            ListPageSize = pageSize,
            PodCidrRetryInterval = TimeSpan.FromMilliseconds(200),
            RetryInterval = TimeSpan.FromMilliseconds(100),
            MaxRetryInterval = TimeSpan.FromSeconds(1),
        }, w => { lock (_warnings) { _warnings.Add(w); } })
        {
            WatchProblem = p => { lock (_problems) { _problems.Add(p); } },
        };

    private void CreateNode(string name, string? podCidr, IReadOnlyDictionary<string, string>? annotations = null) =>
        _server.Kubectl(["create", "-f", "-"], NodeJson.Json(name, annotations, podCidr is null ? [] : [podCidr], rv: 0)).EnsureSuccess("kubectl create node " + name);

    private JsonDocument GetNode(string name) => JsonDocument.Parse(_server.Kubectl("get", "node", name, "-o", "json").EnsureSuccess("kubectl get node").Stdout);

    private static LeaseAttrs OwnAttrs(string mac = "12:c6:65:89:b4:e3", string ip = "192.0.2.11") =>
        LeaseAttrs.ForVxlan(IPAddress.Parse(ip), new VxlanLeaseData(4096, PhysicalAddress.Parse(mac.Replace(':', '-'))));

    [Fact]
    public async Task Acquire_PublishesFlannelsAnnotationsByteForByte_AndTheMacIsReadBack()
    {
        CreateNode("own", "10.244.1.0/24");
        await using KubeLeaseStore store = Store();
        LeaseManager manager = new(store, Vxlan);

        Lease lease = await manager.AcquireAsync(OwnAttrs(), CancellationToken.None);
        AssignedNodeState state = await store.ReadOwnStateAsync(CancellationToken.None);

        Assert.Equal("10.244.1.0-24", lease.Key);
        Assert.Equal(DateTimeOffset.MaxValue, lease.Expiration);
        using JsonDocument node = GetNode("own");
        JsonElement annotations = node.RootElement.GetProperty("metadata").GetProperty("annotations");
        using JsonDocument fixture = JsonDocument.Parse(NodeJson.Fixture("node.linux-vxlan.json"));
        foreach (JsonProperty expected in fixture.RootElement.GetProperty("metadata").GetProperty("annotations").EnumerateObject())
        {
            Assert.Equal(expected.Value.GetString(), annotations.GetProperty(expected.Name).GetString());
        }
        Assert.Equal("12:c6:65:89:b4:e3", state.VtepMac!.ToColonString());
    }

    [Fact]
    public async Task NodeName_FromPodNameAndNamespace_IsThePodsNode()
    {
        CreateNode("worker-7", "10.244.7.0/24");
        _server.Kubectl(["create", "-f", "-"], """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"kube-flannel-ds-abcde","namespace":"default"},"spec":{"nodeName":"worker-7","containers":[{"name":"kube-flannel","image":"flannel"}]}}""")
            .EnsureSuccess("kubectl create pod");
        await using KubeLeaseStore store = new(new KubeStoreOptions { KubeconfigFile = _server.KubeconfigPath }
            .WithEnvironment(k => k switch { "POD_NAME" => "kube-flannel-ds-abcde", "POD_NAMESPACE" => "default", _ => null }));

        Lease lease = await new LeaseManager(store, Vxlan).AcquireAsync(OwnAttrs(), CancellationToken.None);

        Assert.Equal("worker-7", await store.GetNodeNameAsync(CancellationToken.None));
        Assert.Equal("10.244.7.0-24", lease.Key);
    }

    [Fact]
    public async Task MarkNetworkAvailable_SetsFlannelsCondition()
    {
        CreateNode("own", "10.244.1.0/24");
        await using KubeLeaseStore store = Store();
        await new LeaseManager(store, Vxlan).AcquireAsync(OwnAttrs(), CancellationToken.None);

        await store.MarkNetworkAvailableAsync(CancellationToken.None);

        using JsonDocument node = GetNode("own");
        JsonElement condition = node.RootElement.GetProperty("status").GetProperty("conditions").EnumerateArray()
            .Single(c => c.GetProperty("type").GetString() == "NetworkUnavailable");
        Assert.Equal("False", condition.GetProperty("status").GetString());
        Assert.Equal("FlannelIsUp", condition.GetProperty("reason").GetString());
        Assert.Equal("Flannel is running on this node", condition.GetProperty("message").GetString());
        // The kubelet's Ready condition is merged with, not replaced (strategic merge by type).
        Assert.Contains(node.RootElement.GetProperty("status").GetProperty("conditions").EnumerateArray(), c => c.GetProperty("type").GetString() == "Ready");
    }

    [Fact]
    public async Task Acquire_NodeWithoutPodCidr_SaysSoAndWaitsUntilAssigned()
    {
        CreateNode("own", null);
        await using KubeLeaseStore store = Store();
        Task<Lease> acquire = new LeaseManager(store, Vxlan).AcquireAsync(OwnAttrs(), CancellationToken.None);

        await Until(() => Warnings().Any(w => w.StartsWith("node own has no podCIDR: is kube-controller-manager running with --allocate-node-cidrs?", StringComparison.Ordinal)), "the no-podCIDR message");
        Assert.False(acquire.IsCompleted);
        _server.Kubectl("patch", "node", "own", "-p", """{"spec":{"podCIDR":"10.244.7.0/24","podCIDRs":["10.244.7.0/24"]}}""").EnsureSuccess("kubectl patch");

        Lease lease = await acquire.WaitAsync(Deadline);
        Assert.Equal("10.244.7.0-24", lease.Key);
    }

    [Fact]
    public async Task Acquire_WrongToken_ClearError()
    {
        CreateNode("own", "10.244.1.0/24");
        string bad = Path.Combine(_server.Directory, "bad-kubeconfig");
        File.WriteAllText(bad, _server.Kubeconfig(_server.Url, "not-the-token"));
        await using KubeLeaseStore store = Store(kubeconfig: bad);

        KubeApiException e = await Assert.ThrowsAsync<KubeApiException>(() => new LeaseManager(store, Vxlan).AcquireAsync(OwnAttrs(), CancellationToken.None).WaitAsync(Deadline));
        KubeApiException list = await Assert.ThrowsAsync<KubeApiException>(() => store.ListAsync(CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, e.Status);
        Assert.Contains("401", e.Message, StringComparison.Ordinal);
        Assert.Contains($"refused the credentials from kubeconfig {bad}", list.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchPeers_ListedInPagesThenKubectlChangesArriveAsPeerEvents()
    {
        CreateNode("own", "10.244.1.0/24");
        for (int i = 2; i <= 6; i++)
        {
            CreateNode($"n{i}", $"10.244.{i}.0/24", NodeJson.Vxlan($"192.0.2.{i}", $"02:00:00:00:00:0{i}"));
        }
        CreateNode("kubelet-only", "10.244.8.0/24");
        await using KubeLeaseStore store = Store(pageSize: 2);
        LeaseManager manager = new(store, Vxlan);
        await manager.AcquireAsync(OwnAttrs(), CancellationToken.None);
        using CancellationTokenSource cts = new();
        PeerEvents events = new(manager, cts.Token);

        PeerEvent snapshot = await events.NextAsync();
        Assert.Equal(PeerEventKind.Snapshot, snapshot.Kind);
        Assert.Equal(["10.244.2.0-24", "10.244.3.0-24", "10.244.4.0-24", "10.244.5.0-24", "10.244.6.0-24"], snapshot.Peers.Select(p => p.Key));

        _server.Kubectl("annotate", "node", "n3", "--overwrite", NodeJson.P + "backend-data={\"VNI\":4096,\"VtepMAC\":\"02:00:00:00:00:33\"}").EnsureSuccess("kubectl annotate");
        PeerEvent changed = await events.NextAsync();
        Assert.Equal((PeerEventKind.Changed, "10.244.3.0-24", "02:00:00:00:00:33"), (changed.Kind, changed.Lease!.Key, changed.Lease.Attrs.VxlanData!.VtepMacText));

        _server.Kubectl("delete", "node", "n4").EnsureSuccess("kubectl delete");
        PeerEvent removed = await events.NextAsync();
        Assert.Equal((PeerEventKind.Removed, "10.244.4.0-24"), (removed.Kind, removed.Lease!.Key));

        _server.Kubectl("annotate", "node", "kubelet-only", NodeJson.P + "kube-subnet-manager=true", NodeJson.P + "backend-type=vxlan",
            NodeJson.P + "public-ip=192.0.2.8", NodeJson.P + "backend-data={\"VNI\":4096,\"VtepMAC\":\"02:00:00:00:00:08\"}").EnsureSuccess("kubectl annotate");
        PeerEvent added = await events.NextAsync();
        Assert.Equal((PeerEventKind.Added, "10.244.8.0-24"), (added.Kind, added.Lease!.Key));

        _server.Kubectl("annotate", "node", "n5", "--overwrite", NodeJson.P + "public-ip=192.0.2.6").EnsureSuccess("kubectl annotate"); // n6's address
        PeerEvent stolen = await events.NextAsync();
        Assert.Equal((PeerEventKind.Removed, "10.244.5.0-24"), (stolen.Kind, stolen.Lease!.Key));
        Assert.Single(Warnings(), w => w == "node n5 skipped: its public-ip 192.0.2.6 is node n6's");

        _server.Kubectl("label", "node", "n2", "example.com/unrelated=yes").EnsureSuccess("kubectl label"); // no lease change
        _server.Kubectl("annotate", "node", "n2", "--overwrite", NodeJson.P + "public-ip=192.0.2.22").EnsureSuccess("kubectl annotate");
        PeerEvent n2 = await events.NextAsync();
        Assert.Equal((PeerEventKind.Changed, "192.0.2.22"), (n2.Kind, n2.Lease!.Attrs.PublicIP.ToString()));
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Watch_CompactedRevision_410ThenResyncWithNothingLost()
    {
        CreateNode("n2", "10.244.2.0/24", NodeJson.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await using KubeLeaseStore store = Store();
        LeaseListing listing = await store.ListAsync(CancellationToken.None);
        Assert.Single(listing.Records);
        CreateNode("n3", "10.244.3.0/24", NodeJson.Vxlan("192.0.2.3", "02:00:00:00:00:03"));
        _server.Kubectl("delete", "node", "n2").EnsureSuccess("kubectl delete");
        _server.Etcd.Compact();

        using CancellationTokenSource cts = new(Deadline);
        await using IAsyncEnumerator<LeaseChange> watch = store.WatchAsync(listing.Revision, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());

        Assert.Equal(LeaseChangeKind.Resync, watch.Current.Kind);
        Assert.Equal(["10.244.3.0-24"], watch.Current.Listing!.Records.Select(r => r.Key));
        Assert.Contains(Problems(), p => p.Contains("410 Gone", StringComparison.Ordinal));
        CreateNode("n4", "10.244.4.0/24", NodeJson.Vxlan("192.0.2.4", "02:00:00:00:00:04"));
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal((LeaseChangeKind.Put, "10.244.4.0-24"), (watch.Current.Kind, watch.Current.Key));
        await cts.CancelAsync();
    }

    [Fact]
    public async Task WatchPeers_StandInRestarted_NoMissedEventNoDuplicate()
    {
        CreateNode("own", "10.244.1.0/24");
        CreateNode("n2", "10.244.2.0/24", NodeJson.Vxlan("192.0.2.2", "02:00:00:00:00:02"));
        await using KubeLeaseStore store = Store();
        LeaseManager manager = new(store, Vxlan);
        await manager.AcquireAsync(OwnAttrs(), CancellationToken.None);
        using CancellationTokenSource cts = new();
        PeerEvents events = new(manager, cts.Token);
        Assert.Single((await events.NextAsync()).Peers);

        _server.Restart();
        CreateNode("n3", "10.244.3.0/24", NodeJson.Vxlan("192.0.2.3", "02:00:00:00:00:03"));
        _server.Kubectl("delete", "node", "n2").EnsureSuccess("kubectl delete");

        PeerEvent added = await events.NextAsync();
        PeerEvent removed = await events.NextAsync();
        Assert.Equal((PeerEventKind.Added, "10.244.3.0-24"), (added.Kind, added.Lease!.Key));
        Assert.Equal((PeerEventKind.Removed, "10.244.2.0-24"), (removed.Kind, removed.Lease!.Key));
        // Heartbeats of the restart must not come back as events: a marker change arrives next, nothing before it.
        _server.Kubectl("annotate", "node", "n3", "--overwrite", NodeJson.P + "public-ip=192.0.2.33").EnsureSuccess("kubectl annotate");
        PeerEvent marker = await events.NextAsync();
        Assert.Equal((PeerEventKind.Changed, "192.0.2.33"), (marker.Kind, marker.Lease!.Attrs.PublicIP.ToString()));
        Assert.Contains(Problems(), p => p.Contains("resuming from resourceVersion", StringComparison.Ordinal));
        await cts.CancelAsync();
    }

    [Fact]
    public async Task FlannelFixtures_CreatedWithKubectl_AreFlannelsLeases_WindowsWithoutMacUntilItsDrMacArrives()
    {
        CreateNode("own", "10.244.9.0/24");
        foreach (string fixture in (string[])["node.linux-vxlan.json", "node.linux-host-gw.json", "node.windows-vxlan.first.json"])
        {
            _server.Kubectl(["create", "-f", "-"], NodeJson.Fixture(fixture)).EnsureSuccess("kubectl create -f " + fixture);
        }
        await using KubeLeaseStore store = Store();
        LeaseManager manager = new(store, Vxlan);
        await manager.AcquireAsync(OwnAttrs(ip: "192.0.2.9"), CancellationToken.None);
        LeaseListing listing = await store.ListAsync(CancellationToken.None);
        using CancellationTokenSource cts = new();
        PeerEvents events = new(manager, cts.Token);
        PeerEvent snapshot = await events.NextAsync();

        // The store's records: every Flannel node as Flannel's lease (this node's too), none expiring.
        Assert.Equal(
            [
                ("10.244.1.0-24", """{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"12:c6:65:89:b4:e3"}}"""),
                ("10.244.2.0-24", """{"PublicIP":"192.0.2.21","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":""}}"""),
                ("10.244.3.0-24", """{"PublicIP":"192.0.2.13","PublicIPv6":null,"BackendType":"host-gw"}"""),
                ("10.244.9.0-24", """{"PublicIP":"192.0.2.9","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"12:c6:65:89:b4:e3"}}"""),
            ],
            listing.Records.Select(r => (r.Key, r.Value)));
        Assert.All(listing.Records, r => Assert.Equal(DateTimeOffset.MaxValue, r.Expiration));
        // The peers of this vxlan network: the host-gw node is left out by the lease checks every store shares.
        Assert.Equal(PeerEventKind.Snapshot, snapshot.Kind);
        Assert.Equal(["10.244.1.0-24", "10.244.2.0-24"], snapshot.Peers.Select(p => p.Key));
        Lease windows = snapshot.Peers.Single(p => p.Key == "10.244.2.0-24");
        Assert.False(windows.Attrs.VxlanData!.HasVtepMac);

        // HNS made the DR MAC: win-1 as its final fixture, written with kubectl apply (the whole object).
        _server.Kubectl(["apply", "-f", "-"], NodeJson.Fixture("node.windows-vxlan.json")).EnsureSuccess("kubectl apply -f node.windows-vxlan.json");
        PeerEvent final = await events.NextAsync();

        Assert.Equal((PeerEventKind.Changed, "10.244.2.0-24", "00:15:5d:4a:1c:07", "192.0.2.21"),
            (final.Kind, final.Lease!.Key, final.Lease.Attrs.VxlanData!.VtepMacText, final.Lease.Attrs.PublicIP.ToString()));
        Assert.Empty(Warnings());
        await cts.CancelAsync();
    }

    [Fact]
    public async Task HostileNodes_CreatedWithKubectl_EachSkippedWithExactlyOneWarningNamingIt_NoneAPeer()
    {
        CreateNode("own", "10.244.9.0/24");
        CreateNode("good", "10.244.1.0/24", NodeJson.Vxlan("192.0.2.21", "02:00:00:00:00:21"));
        Dictionary<string, Dictionary<string, string>> corrupt = new()
        {
            ["bad-json"] = With(NodeJson.Vxlan("192.0.2.22", "02:00:00:00:00:22"), "backend-data", "{\"VNI\":4096,"),
            ["bad-ip"] = With(NodeJson.Vxlan("192.0.2.23", "02:00:00:00:00:23"), "public-ip", "192.0.2.300"),
            ["thief"] = NodeJson.Vxlan("192.0.2.21", "02:00:00:00:00:24"), // good's public IP
            ["own-ip"] = NodeJson.Vxlan("192.0.2.9", "02:00:00:00:00:25"), // this node's public IP
        };
        CreateNode("bad-json", "10.244.2.0/24", corrupt["bad-json"]);
        CreateNode("bad-ip", "10.244.3.0/24", corrupt["bad-ip"]);
        CreateNode("thief", "10.244.4.0/24", corrupt["thief"]);
        CreateNode("own-ip", "10.244.5.0/24", corrupt["own-ip"]);
        CreateNode("overlap", "10.244.9.128/25", NodeJson.Vxlan("192.0.2.26", "02:00:00:00:00:26"));
        CreateNode("outside", "10.1.0.0/24", NodeJson.Vxlan("192.0.2.27", "02:00:00:00:00:27"));
        CreateNode("no-cidr", null, NodeJson.Vxlan("192.0.2.28", "02:00:00:00:00:28"));
        await using KubeLeaseStore store = Store();
        LeaseManager manager = new(store, Vxlan);
        await manager.AcquireAsync(OwnAttrs(ip: "192.0.2.9"), CancellationToken.None);
        using CancellationTokenSource cts = new();
        PeerEvents events = new(manager, cts.Token);

        PeerEvent snapshot = await events.NextAsync();
        // Heartbeats of every hostile node (a kubelet's label change: new resourceVersion, same annotations) must not warn again.
        foreach (string name in (string[])["bad-json", "bad-ip", "thief", "own-ip", "overlap", "outside", "no-cidr"])
        {
            _server.Kubectl("label", "node", name, "--overwrite", "example.com/heartbeat=1").EnsureSuccess("kubectl label " + name);
        }
        // A change after the heartbeats, as a marker: once it arrives, every heartbeat has been seen.
        _server.Kubectl("annotate", "node", "good", "--overwrite", NodeJson.P + "public-ip=192.0.2.31").EnsureSuccess("kubectl annotate good");
        PeerEvent marker = await events.NextAsync();

        Assert.Equal(["10.244.1.0-24"], snapshot.Peers.Select(p => p.Key));
        Assert.Equal((PeerEventKind.Changed, "192.0.2.31"), (marker.Kind, marker.Lease!.Attrs.PublicIP.ToString()));
        // Exactly one warning per hostile node, each naming it (bad-json's ends with the JSON reader's own words).
        string[] expected =
        [
            "node bad-ip skipped: annotation flannel.alpha.coreos.com/public-ip '192.0.2.300' is not an IPv4 address",
            "node bad-json skipped: annotation flannel.alpha.coreos.com/backend-data '{\"VNI\":4096,' is not valid JSON: ",
            "node no-cidr skipped: has no IPv4 podCIDR",
            "node outside skipped: podCIDR 10.1.0.0/24 is outside Network 10.244.0.0/16",
            "node overlap skipped: podCIDR 10.244.9.128/25 overlaps this node's 10.244.9.0/24",
            "node own-ip skipped: its public-ip 192.0.2.9 is node own's",
            "node thief skipped: its public-ip 192.0.2.21 is node good's",
        ];
        string[] warnings = [.. Warnings().Order(StringComparer.Ordinal)];
        Assert.True(warnings.Length == expected.Length, string.Join("\n", warnings));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i].EndsWith(": ", StringComparison.Ordinal) ? warnings[i].StartsWith(expected[i], StringComparison.Ordinal) : warnings[i] == expected[i],
                $"expected {expected[i]}\nfound    {warnings[i]}");
        }
        await cts.CancelAsync();
    }

    private static Dictionary<string, string> With(Dictionary<string, string> annotations, string name, string value)
    {
        annotations[NodeJson.P + name] = value;
        return annotations;
    }

    [Fact]
    public async Task Delete_OwnRecord_RemovesFlannelsAnnotations()
    {
        CreateNode("own", "10.244.1.0/24");
        await using KubeLeaseStore store = Store();
        LeaseManager manager = new(store, Vxlan);
        await manager.AcquireAsync(OwnAttrs(), CancellationToken.None);

        await manager.ReleaseAsync(CancellationToken.None);

        using JsonDocument node = GetNode("own");
        Assert.False(node.RootElement.GetProperty("metadata").TryGetProperty("annotations", out JsonElement a)
            && a.EnumerateObject().Any(p => p.Name.StartsWith(NodeJson.P, StringComparison.Ordinal)));
    }

    private List<string> Warnings()
    {
        lock (_warnings)
        {
            return [.. _warnings];
        }
    }

    private List<string> Problems()
    {
        lock (_problems)
        {
            return [.. _problems];
        }
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Deadline)
            {
                throw new TimeoutException($"waited {Deadline.TotalSeconds:F0} s for {what}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>The manager's peer events, pumped into a channel so a test can wait for the next with a deadline.</summary>
    private sealed class PeerEvents
    {
        private readonly Channel<PeerEvent> _channel = Channel.CreateUnbounded<PeerEvent>();

        public PeerEvents(LeaseManager manager, CancellationToken ct) =>
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (PeerEvent e in manager.WatchPeersAsync(ct))
                    {
                        await _channel.Writer.WriteAsync(e, CancellationToken.None);
                    }
                }
                catch (OperationCanceledException)
                {
                }
                finally
                {
                    _channel.Writer.TryComplete();
                }
            }, CancellationToken.None);

        public async Task<PeerEvent> NextAsync()
        {
            using CancellationTokenSource timeout = new(Deadline);
            return await _channel.Reader.ReadAsync(timeout.Token);
        }
    }
}
