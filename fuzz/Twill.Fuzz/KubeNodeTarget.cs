using System.Net.Sockets;
using System.Text.Json;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Kube;

namespace Twill.Fuzz;

/// <summary>
/// A Node from the API server (any node's annotations are written by whoever may patch nodes): read
/// as a GET or watch event is, and as a NodeList page fed in pieces, as the store reads a listing;
/// then its lease read from the annotations and put in the lease table. Malformed JSON is a
/// <see cref="JsonException"/>; the annotation readers are Trys and the table warns: nothing throws.
/// </summary>
internal static class KubeNodeTarget
{
    private static readonly NetworkConfig DualStack = NetworkConfig.Parse(
        """{"Network":"10.244.0.0/16","IPv6Network":"2001:db8::/56","EnableIPv6":true,"Backend":{"Type":"vxlan"}}""", out _);

    public static void Run(byte[] data)
    {
        List<NodeSummary> nodes = [];
        try
        {
            nodes.Add(NodeSummary.Parse(data, KubeAnnotations.DefaultPrefix));
        }
        catch (JsonException)
        {
        }
        try
        {
            nodes.AddRange(List(data));
        }
        catch (JsonException)
        {
        }
        foreach (NodeSummary node in nodes)
        {
            Read(node);
        }
    }

    // The first byte sets the size of the pieces, so the reader's resumption at every offset is tried.
    private static List<NodeSummary> List(byte[] data)
    {
        int piece = data.Length == 0 ? 1 : (data[0] % 64) + 1;
        NodeListReader reader = new(KubeAnnotations.DefaultPrefix);
        byte[] pending = [];
        for (int at = 0; at < data.Length || !reader.IsComplete; at += piece)
        {
            bool last = at + piece >= data.Length;
            byte[] chunk = [.. pending, .. data.AsSpan(Math.Min(at, data.Length), Math.Max(0, Math.Min(piece, data.Length - at)))];
            int used = reader.Feed(chunk, last);
            pending = chunk[used..];
            if (last)
            {
                break;
            }
        }
        return reader.Nodes;
    }

    private static void Read(NodeSummary node)
    {
        foreach ((bool v4, bool v6) in new[] { (true, false), (false, true), (true, true) })
        {
            NodeLeaseCodec codec = new(KubeAnnotations.Default, v4, v6);
            if (codec.TryReadLease(node, out _, out LeaseAttrs? attrs, out _))
            {
                codec.OwnAnnotations(attrs, node);
            }
            codec.PublishedVxlanData(node, AddressFamily.InterNetwork);
            codec.PublishedVxlanData(node, AddressFamily.InterNetworkV6);
            codec.TryNodePublicIP(node, AddressFamily.InterNetwork, out _, out _);
            codec.TryNodePublicIP(node, AddressFamily.InterNetworkV6, out _, out _);
        }
        NodeLeaseTable table = new(KubeAnnotations.Default, _ => { });
        table.Configure(DualStack, "self", null);
        table.Upsert(node, 1);
        table.Remove(node.Name, 2);
    }
}
