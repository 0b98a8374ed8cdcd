using System.Text;
using System.Text.Json;

namespace Twill.Leases.Kube.Tests;

/// <summary>
/// Nodes AFL++ found (make fuzz TARGET=kube-node, fuzz/README.md): a string that is not UTF-8 threw
/// InvalidOperationException from the reader, past the watch's and the listing's JsonException handling.
/// </summary>
public sealed class FuzzFindingTests
{
    private static byte[] Node(string before, byte bad, string after) => [.. Encoding.UTF8.GetBytes(before), bad, .. Encoding.UTF8.GetBytes(after)];

    public static TheoryData<byte[]> BadNodes => new()
    {
        Node("""{"metadata":{"name":"n""", 0x82, "\"}}"),
        Node("""{"metadata":{"name":"n","annotations":{"flannel.alpha.coreos.com/public-ip":"192.0.2.1""", 0x80, "\"}}}"),
        Node("""{"metadata":{"annotations":{"flannel.alpha.coreos.com/""", 0xff, "\":\"x\"}}}"),
        Node("""{"spec":{"podCIDR":"10.244.1.0/24""", 0xdf, "\"}}"),
    };

    [Theory]
    [MemberData(nameof(BadNodes))]
    public void Parse_StringThatIsNotUtf8_IsAJsonError(byte[] node)
    {
        Assert.Throws<JsonException>(() => NodeSummary.Parse(node, KubeAnnotations.DefaultPrefix));
    }

    [Theory]
    [MemberData(nameof(BadNodes))]
    public void ListReader_ItemThatIsNotUtf8_IsAJsonError(byte[] node)
    {
        byte[] list = [.. "{\"items\":["u8, .. node, .. "]}"u8];

        Assert.Throws<JsonException>(() => new NodeListReader(KubeAnnotations.DefaultPrefix).Feed(list, isFinal: true));
    }

    [Fact]
    public void ListReader_ContinueTokenThatIsNotUtf8_IsAJsonError()
    {
        byte[] list = Node("""{"metadata":{"resourceVersion":"9","continue":"a""", 0xfe, "\"},\"items\":[]}");

        Assert.Throws<JsonException>(() => new NodeListReader(KubeAnnotations.DefaultPrefix).Feed(list, isFinal: true));
    }
}
