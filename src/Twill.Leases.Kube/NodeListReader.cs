using System.Buffers;
using System.Text.Json;

namespace Twill.Leases.Kube;

/// <summary>
/// Parses a NodeList as it arrives, one whole Node at a time: the caller feeds the bytes it has, the
/// reader takes every complete unit (the list's metadata, one item) and says how many bytes it used,
/// so the caller's buffer holds at most one Node (~10 KB for a kubelet-written node), never the page
/// (a 250-node page is ~2.5 MB; pages held whole were the agent's peak memory at 5,000 nodes).
/// Each item becomes a <see cref="NodeSummary"/> at once; the rest of it is dropped.
/// </summary>
public sealed class NodeListReader(string annotationPrefix)
{
    private enum Phase
    {
        Start,
        Top,
        Items,
        Done,
    }

    private JsonReaderState _state;
    private Phase _phase;

    public List<NodeSummary> Nodes { get; } = [];

    public long ResourceVersion { get; private set; }

    /// <summary>The continue token; "" on the last page.</summary>
    public string Continue { get; private set; } = "";

    public bool IsComplete => _phase == Phase.Done;

    /// <summary>
    /// Takes the complete units at the start of <paramref name="data"/> and returns how many bytes they
    /// filled; the caller keeps the rest and feeds it again with more. <paramref name="isFinal"/>: no more
    /// bytes will come (a list that is not complete then is an error).
    /// </summary>
    public int Feed(ReadOnlySpan<byte> data, bool isFinal)
    {
        Utf8JsonReader reader = new(data, isFinal, _state);
        int used = 0;
        try
        {
            while (_phase != Phase.Done && Step(ref reader, data))
            {
                used = (int)reader.BytesConsumed;
                _state = reader.CurrentState;
            }
        }
        catch (InvalidOperationException e)
        {
            // The list's own strings (resourceVersion, continue): UTF-8 is checked only in GetString.
            throw new JsonException($"node list: {e.Message}", e);
        }
        if (isFinal && _phase != Phase.Done)
        {
            throw new JsonException("node list: the JSON ends before the list does");
        }
        return used;
    }

    /// <summary>Reads a whole NodeList from a stream through a small pooled buffer that grows only to the largest Node.</summary>
    public static async Task<NodePage> ReadAsync(Stream stream, string annotationPrefix, CancellationToken cancellationToken)
    {
        NodeListReader list = new(annotationPrefix);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int length = 0;
            bool end = false, starved = false;
            while (!list.IsComplete)
            {
                if (length == buffer.Length)
                {
                    // One unit larger than the buffer: grow to hold it.
                    byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                end = read == 0;
                length += read;
                if (starved && !end && length < buffer.Length)
                {
                    // The unit under way needs more bytes: fill the buffer before parsing it again (small reads stay linear).
                    continue;
                }
                int used = list.Feed(buffer.AsSpan(0, length), end);
                starved = used == 0;
                buffer.AsSpan(used, length - used).CopyTo(buffer);
                length -= used;
            }
            return new NodePage(list.Nodes, list.ResourceVersion, list.Continue);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // One unit: the top-level StartObject or EndObject, one top-level property with its value, one item
    // or the items' EndArray. False when the data ends inside it: nothing of it is kept, it is read again.
    private bool Step(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        if (!reader.Read())
        {
            return false;
        }
        switch (_phase)
        {
            case Phase.Start:
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new JsonException("node list: not a JSON object");
                }
                _phase = Phase.Top;
                return true;
            case Phase.Top:
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    _phase = Phase.Done;
                    return true;
                }
                bool metadata = reader.ValueTextEquals("metadata");
                bool items = reader.ValueTextEquals("items");
                if (!reader.Read())
                {
                    return false;
                }
                if (items && reader.TokenType == JsonTokenType.StartArray)
                {
                    _phase = Phase.Items;
                    return true;
                }
                int start = (int)reader.TokenStartIndex;
                bool isObject = reader.TokenType == JsonTokenType.StartObject;
                if (!reader.TrySkip())
                {
                    return false;
                }
                if (metadata && isObject)
                {
                    ReadListMetadata(data[start..(int)reader.BytesConsumed]);
                }
                return true;
            default:
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    _phase = Phase.Top;
                    return true;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new JsonException($"node list: an item is {reader.TokenType}, not a Node object");
                }
                int itemStart = (int)reader.TokenStartIndex;
                if (!reader.TrySkip())
                {
                    return false;
                }
                Nodes.Add(NodeSummary.Parse(data[itemStart..(int)reader.BytesConsumed], annotationPrefix));
                return true;
        }
    }

    private void ReadListMetadata(ReadOnlySpan<byte> json)
    {
        Utf8JsonReader reader = new(json);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isRv = reader.ValueTextEquals("resourceVersion");
            bool isContinue = reader.ValueTextEquals("continue");
            reader.Read();
            if (isRv && reader.TokenType == JsonTokenType.String)
            {
                ResourceVersion = NodeSummary.ParseResourceVersion(reader.GetString());
            }
            else if (isContinue && reader.TokenType == JsonTokenType.String)
            {
                Continue = reader.GetString()!;
            }
            else
            {
                reader.Skip();
            }
        }
    }
}
