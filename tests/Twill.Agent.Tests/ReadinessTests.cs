using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Twill.Bgp.Session;
using Twill.Bgp.Speaker;
using Twill.Leases.Store;

namespace Twill.Agent.Tests;

/// <summary>/readyz goes back to not-ready when the data path, the lease or the watch breaks, and to ready when fixed.</summary>
public class ReadinessTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Check_New_NotReadyUntilDataPathProgrammed()
    {
        Readiness readiness = new();

        (bool before, string reason) = readiness.Check();
        readiness.SetDataPath(null);

        Assert.False(before);
        Assert.Equal(Readiness.NotProgrammed, reason);
        Assert.True(readiness.IsReady);
    }

    [Fact]
    public void Check_DataPathFailsThenRecovers_NotReadyThenReady()
    {
        Readiness readiness = new();
        readiness.SetDataPath(null);

        readiness.SetDataPath("data path not converged: reconcile failing for 12 s: PutRoute 10.244.3.0/24: No such device");
        (bool failing, string reason) = readiness.Check();
        readiness.SetDataPath(null);

        Assert.False(failing);
        Assert.Contains("No such device", reason, StringComparison.Ordinal);
        Assert.True(readiness.IsReady);
    }

    [Fact]
    public void Check_LeaseExpiredAndDataPathFailing_BothReasonsGiven()
    {
        Readiness readiness = new();
        readiness.SetDataPath("reconcile failing");
        readiness.SetLease("lease 10.244.1.0-24 expired");

        (bool ready, string reason) = readiness.Check();

        Assert.False(ready);
        Assert.Equal("reconcile failing\nlease 10.244.1.0-24 expired", reason);
    }

    [Fact]
    public void Check_WatchFailed_NotReadyUntilItWorksAgain()
    {
        Readiness readiness = new();
        readiness.SetDataPath(null);

        readiness.WatchFailed("etcd http://192.0.2.1:2379: unavailable");
        (bool broken, string reason) = readiness.Check();
        readiness.WatchWorks();

        Assert.False(broken);
        Assert.Equal("lease watch: etcd http://192.0.2.1:2379: unavailable", reason);
        Assert.True(readiness.IsReady);
    }

    [Fact]
    public void RoutingProblem_NoSessionEstablished_NotReadyNamingEachPeer_ReadyOnceOneIs()
    {
        Readiness readiness = new();
        readiness.SetDataPath(null);
        BgpPeerStatus tor1 = new(IPAddress.Parse("203.0.113.1"), 65000, BgpState.Active, 0);
        BgpPeerStatus tor2 = new(IPAddress.Parse("203.0.113.2"), 65000, BgpState.OpenSent, 0);

        readiness.SetRouting(TorAnnouncer.RoutingProblem([tor1, tor2]));
        (bool down, string reason) = readiness.Check();
        readiness.SetRouting(TorAnnouncer.RoutingProblem([tor1, tor2 with { State = BgpState.Established }]));

        Assert.False(down);
        Assert.Equal("bgp: no ToR session established (203.0.113.1 AS65000 Active, 203.0.113.2 AS65000 OpenSent): this node's subnet is not announced", reason);
        Assert.True(readiness.IsReady);
        Assert.Null(TorAnnouncer.RoutingProblem([]));
    }

    [Fact]
    public void Check_WatchProblemNotRepeated_ClearsAfterItsLifetime()
    {
        ManualTime time = new();
        Readiness readiness = new(time) { WatchProblemLifetime = TimeSpan.FromSeconds(30) };
        readiness.SetDataPath(null);
        readiness.WatchFailed("stream reset; resuming from revision 7");

        time.Now += TimeSpan.FromSeconds(29);
        bool within = readiness.IsReady;
        time.Now += TimeSpan.FromSeconds(2);

        Assert.False(within);
        Assert.True(readiness.IsReady);
    }

    [Fact]
    public async Task HealthServer_Readyz_503WithReasonThen200()
    {
        AgentMetrics metrics = new();
        await using HealthServer server = new(IPAddress.Loopback, 0, () => true, metrics);
        metrics.Readiness.SetDataPath(null);
        metrics.Readiness.SetLease("lease 10.244.1.0-24 expired at 2026-11-27 08:00:00Z: renewing it keeps failing");

        string broken = await Get(server.Endpoint, "/readyz");
        string brokenMetrics = await Get(server.Endpoint, "/metrics");
        metrics.Readiness.SetLease(null);
        string fixedAgain = await Get(server.Endpoint, "/readyz");
        string fixedMetrics = await Get(server.Endpoint, "/metrics");

        Assert.StartsWith("HTTP/1.1 503", broken, StringComparison.Ordinal);
        Assert.Contains("lease 10.244.1.0-24 expired", broken, StringComparison.Ordinal);
        Assert.Contains("\ntwill_ready 0\n", brokenMetrics, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", fixedAgain, StringComparison.Ordinal);
        Assert.Contains("\ntwill_ready 1\n", fixedMetrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ObservedLeaseStore_ListingFailsThenWorks_ReadinessFollows()
    {
        Readiness readiness = new();
        readiness.SetDataPath(null);
        FlakyStore inner = new() { FailListing = true };
        ObservedLeaseStore store = new(inner, readiness);

        await Assert.ThrowsAsync<IOException>(() => store.ListAsync(CancellationToken.None));
        (bool afterFailure, string reason) = readiness.Check();
        inner.FailListing = false;
        await store.ListAsync(CancellationToken.None);

        Assert.False(afterFailure);
        Assert.Contains("listing leases from flaky failed: store unreachable", reason, StringComparison.Ordinal);
        Assert.True(readiness.IsReady);
    }

    [Fact]
    public async Task ObservedLeaseStore_WatchThrows_NotReady()
    {
        Readiness readiness = new();
        readiness.SetDataPath(null);
        ObservedLeaseStore store = new(new FlakyStore(), readiness);

        List<LeaseChange> seen = [];
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (LeaseChange c in store.WatchAsync(0, CancellationToken.None))
            {
                seen.Add(c);
                Assert.True(readiness.IsReady, "a delivered change means the watch works");
            }
        });

        Assert.Single(seen);
        Assert.Contains("watching leases in flaky failed", readiness.Check().Reason, StringComparison.Ordinal);
    }

    /// <summary>A store whose listing can fail and whose watch delivers one change, then breaks.</summary>
    private sealed class FlakyStore : ILeaseStore
    {
        public bool FailListing { get; set; }

        public string Description => "flaky";

        public Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

        public Task<LeaseListing> ListAsync(CancellationToken cancellationToken) =>
            FailListing ? Task.FromException<LeaseListing>(new IOException("store unreachable")) : Task.FromResult(new LeaseListing([], 1));

        public Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public async IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            yield return new LeaseChange(LeaseChangeKind.Delete, "10.244.9.0-24", null, null, afterRevision + 1);
            throw new IOException("stream reset");
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static async Task<string> Get(IPEndPoint endpoint, string path)
    {
        using TcpClient client = new();
        await client.ConnectAsync(endpoint);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
        using StreamReader reader = new(stream);
        return await reader.ReadToEndAsync();
    }
}
