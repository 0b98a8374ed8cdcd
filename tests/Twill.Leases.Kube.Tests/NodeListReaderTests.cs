using System.Text;
using System.Text.Json;

namespace Twill.Leases.Kube.Tests;

/// <summary>The streamed NodeList: however the bytes are cut, the page read is the same, and the buffer never holds the page.</summary>
public class NodeListReaderTests
{
    private static byte[] List(int nodes, string metadata = """{"resourceVersion":"99","continue":"tok"}""")
    {
        string items = string.Join(",", Enumerable.Range(1, nodes).Select(i =>
            NodeJson.Json($"n{i}", NodeJson.Vxlan($"192.0.2.{i}", $"02:00:00:00:00:{i:x2}"), [$"10.244.{i}.0/24"], rv: i, images: 40)));
        // "kind" first and "metadata" after "items" too: the reader takes the top-level keys in any order.
        return Encoding.UTF8.GetBytes($$"""{"kind":"NodeList","apiVersion":"v1","items":[{{items}}],"metadata":{{metadata}}}""");
    }

    /// <summary>A stream handing out at most <paramref name="chunk"/> bytes per read, as a TLS connection does.</summary>
    private sealed class Trickle(byte[] data, int chunk) : MemoryStream(data)
    {
        public int MaxRead { get; private set; }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            MaxRead = Math.Max(MaxRead, buffer.Length);
            return base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task ReadAsync_AnyCut_SameNodesAsWhole(int chunk)
    {
        byte[] json = List(30);
        NodePage whole = KubeApi.ParseList(json, NodeJson.P);

        using Trickle stream = new(json, chunk);
        NodePage streamed = await NodeListReader.ReadAsync(stream, NodeJson.P, CancellationToken.None);

        Assert.Equal((99L, "tok"), (streamed.ResourceVersion, streamed.Continue));
        Assert.Equal(whole.Nodes.Select(n => (n.Name, n.ResourceVersion, n.PodCIDR, n.Annotations.Count)),
            streamed.Nodes.Select(n => (n.Name, n.ResourceVersion, n.PodCIDR, n.Annotations.Count)));
        Assert.Equal(30, streamed.Nodes.Count);
        Assert.Equal("{\"VNI\":4096,\"VtepMAC\":\"02:00:00:00:00:1e\"}", streamed.Nodes[29].Annotation(NodeJson.P + "backend-data"));
        // A 30-node page of kubelet-sized nodes is far larger than the buffer it went through.
        Assert.True(json.Length > 2 * stream.MaxRead, $"page {json.Length} B read through a {stream.MaxRead} B buffer");
    }

    [Fact]
    public async Task ReadAsync_Truncated_IsAJsonError()
    {
        byte[] json = List(3);
        using MemoryStream stream = new(json[..(json.Length - 40)]);

        await Assert.ThrowsAnyAsync<JsonException>(() => NodeListReader.ReadAsync(stream, NodeJson.P, CancellationToken.None));
    }
}
