using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Twill.Leases.Kube;

/// <summary>One page of a node listing: the nodes (as summaries), the list's resourceVersion and the continue token ("" on the last page).</summary>
public sealed record NodePage(IReadOnlyList<NodeSummary> Nodes, long ResourceVersion, string Continue);

public enum NodeEventType
{
    Added,
    Modified,
    Deleted,

    /// <summary>A watch bookmark: only <see cref="NodeEvent.ResourceVersion"/> is meaningful.</summary>
    Bookmark,

    /// <summary>The server ended the watch with a Status (410 Gone once etcd compacted past it).</summary>
    Error,
}

/// <summary>One watch event. <see cref="Node"/> is set for Added/Modified/Deleted; <see cref="ErrorCode"/> and <see cref="ErrorMessage"/> for Error.</summary>
public sealed record NodeEvent(NodeEventType Type, NodeSummary? Node, long ResourceVersion, int ErrorCode = 0, string? ErrorMessage = null);

/// <summary>The API server answered with an error status (or could not be reached); the message names the request and says what to check.</summary>
public sealed class KubeApiException(string message, HttpStatusCode? status = null, Exception? inner = null) : Exception(message, inner)
{
    public HttpStatusCode? Status { get; } = status;

    public bool IsGone => Status == HttpStatusCode.Gone;

    public bool IsNotFound => Status == HttpStatusCode.NotFound;
}

/// <summary>
/// The requests the Kubernetes store makes, and no more (its RBAC: nodes get/list/watch, nodes/status
/// patch, pods get). Nodes are read with a streaming JSON reader keeping only <see cref="NodeSummary"/>.
/// </summary>
public sealed class KubeApi(KubeConnection connection, string annotationPrefix, TimeSpan requestTimeout)
{
    public KubeConnection Connection { get; } = connection;

    /// <summary><c>GET /api/v1/nodes?limit=&amp;continue=</c>.</summary>
    public async Task<NodePage> ListNodesAsync(int limit, string? continueToken, CancellationToken cancellationToken)
    {
        string path = $"api/v1/nodes?limit={limit}" + (string.IsNullOrEmpty(continueToken) ? "" : "&continue=" + Uri.EscapeDataString(continueToken));
        using CancellationTokenSource timeout = Timeout(cancellationToken);
        using HttpRequestMessage request = await RequestAsync(HttpMethod.Get, path, timeout.Token).ConfigureAwait(false);
        using HttpResponseMessage response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            // Streamed: a page is never held whole (see NodeListReader).
            return await NodeListReader.ReadAsync(body, annotationPrefix, timeout.Token).ConfigureAwait(false);
        }
    }

    /// <summary><c>GET /api/v1/nodes/{name}</c>.</summary>
    public async Task<NodeSummary> GetNodeAsync(string name, CancellationToken cancellationToken)
    {
        byte[] body = await GetBytesAsync("api/v1/nodes/" + Uri.EscapeDataString(name), cancellationToken).ConfigureAwait(false);
        return NodeSummary.Parse(body, annotationPrefix);
    }

    /// <summary>The node a pod runs on: <c>GET /api/v1/namespaces/{ns}/pods/{name}</c>, spec.nodeName.</summary>
    public async Task<string?> GetPodNodeNameAsync(string podNamespace, string podName, CancellationToken cancellationToken)
    {
        byte[] body = await GetBytesAsync($"api/v1/namespaces/{Uri.EscapeDataString(podNamespace)}/pods/{Uri.EscapeDataString(podName)}", cancellationToken).ConfigureAwait(false);
        using JsonDocument doc = JsonDocument.Parse(body);
        return doc.RootElement.TryGetProperty("spec", out JsonElement spec) && spec.TryGetProperty("nodeName", out JsonElement n) && n.ValueKind == JsonValueKind.String
            ? n.GetString()
            : null;
    }

    /// <summary><c>PATCH /api/v1/nodes/{name}/status</c> with a strategic merge patch, as Flannel patches its node.</summary>
    public async Task<NodeSummary> PatchNodeStatusAsync(string name, string patch, CancellationToken cancellationToken)
    {
        string path = $"api/v1/nodes/{Uri.EscapeDataString(name)}/status";
        using CancellationTokenSource timeout = Timeout(cancellationToken);
        using HttpRequestMessage request = await RequestAsync(new HttpMethod("PATCH"), path, timeout.Token).ConfigureAwait(false);
        request.Content = new StringContent(patch, Encoding.UTF8);
        request.Content.Headers.ContentType = new("application/strategic-merge-patch+json");
        using HttpResponseMessage response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
        return NodeSummary.Parse(body, annotationPrefix);
    }

    /// <summary>
    /// <c>GET /api/v1/nodes?watch=1&amp;resourceVersion=&amp;allowWatchBookmarks=true</c>: the events after
    /// <paramref name="resourceVersion"/> until the server ends the watch (timeoutSeconds) or the
    /// connection breaks (an exception). A 410 answer to the request itself is delivered as an Error event.
    /// </summary>
    public async IAsyncEnumerable<NodeEvent> WatchNodesAsync(long resourceVersion, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string path = $"api/v1/nodes?watch=1&resourceVersion={resourceVersion}&allowWatchBookmarks=true&timeoutSeconds={(int)timeout.TotalSeconds}";
        using HttpRequestMessage request = await RequestAsync(HttpMethod.Get, path, cancellationToken).ConfigureAwait(false);
        HttpResponseMessage? response = null;
        string? gone = null;
        try
        {
            response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.IsGone)
        {
            gone = e.Message;
        }
        if (response is null)
        {
            yield return new NodeEvent(NodeEventType.Error, null, 0, 410, gone);
            yield break;
        }
        using (response)
        {
            Stream stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            PipeReader pipe = PipeReader.Create(stream);
            try
            {
                while (true)
                {
                    ReadResult read = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
                    ReadOnlySequence<byte> buffer = read.Buffer;
                    List<NodeEvent> events = [];
                    while (TryTakeLine(ref buffer, out ReadOnlySequence<byte> line))
                    {
                        if (!IsBlank(line))
                        {
                            events.Add(ParseEvent(line.IsSingleSegment ? line.FirstSpan : line.ToArray(), annotationPrefix));
                        }
                    }
                    bool completed = read.IsCompleted;
                    if (completed && !buffer.IsEmpty && !IsBlank(buffer))
                    {
                        events.Add(ParseEvent(buffer.ToArray(), annotationPrefix));
                        buffer = buffer.Slice(buffer.End);
                    }
                    pipe.AdvanceTo(buffer.Start, buffer.End);
                    foreach (NodeEvent e in events)
                    {
                        yield return e;
                    }
                    if (completed)
                    {
                        yield break;
                    }
                }
            }
            finally
            {
                await pipe.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Parses a NodeList page held whole (a test fixture); the API's pages are streamed through the same reader.</summary>
    public static NodePage ParseList(ReadOnlySpan<byte> json, string annotationPrefix)
    {
        NodeListReader reader = new(annotationPrefix);
        reader.Feed(json, isFinal: true);
        return new NodePage(reader.Nodes, reader.ResourceVersion, reader.Continue);
    }

    /// <summary>Parses one watch event line: <c>{"type":"MODIFIED","object":{...}}</c>.</summary>
    public static NodeEvent ParseEvent(ReadOnlySpan<byte> json, string annotationPrefix)
    {
        Utf8JsonReader reader = new(json);
        reader.Read();
        string? type = null;
        int objectStart = -1, objectEnd = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"))
            {
                reader.Read();
                type = reader.GetString();
            }
            else if (reader.ValueTextEquals("object"))
            {
                reader.Read();
                objectStart = (int)reader.TokenStartIndex;
                reader.Skip();
                objectEnd = (int)reader.BytesConsumed;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (objectStart < 0)
        {
            throw new JsonException($"watch event {type} carries no object");
        }
        ReadOnlySpan<byte> obj = json[objectStart..objectEnd];
        switch (type)
        {
            case "ERROR":
                using (JsonDocument status = JsonDocument.Parse(obj.ToArray()))
                {
                    JsonElement root = status.RootElement;
                    int code = root.TryGetProperty("code", out JsonElement c) && c.TryGetInt32(out int n) ? n : 0;
                    string message = root.TryGetProperty("message", out JsonElement m) ? m.GetString() ?? "" : "";
                    return new NodeEvent(NodeEventType.Error, null, 0, code, message);
                }
            case "ADDED" or "MODIFIED" or "DELETED" or "BOOKMARK":
                NodeSummary node = NodeSummary.Parse(obj, annotationPrefix);
                NodeEventType kind = type switch
                {
                    "ADDED" => NodeEventType.Added,
                    "MODIFIED" => NodeEventType.Modified,
                    "DELETED" => NodeEventType.Deleted,
                    _ => NodeEventType.Bookmark,
                };
                return new NodeEvent(kind, kind == NodeEventType.Bookmark ? null : node, node.ResourceVersion);
            default:
                throw new JsonException($"watch event of unknown type '{type}'");
        }
    }

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        SequencePosition? newline = buffer.PositionOf((byte)'\n');
        if (newline is null)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, newline.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        return true;
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (ReadOnlyMemory<byte> segment in line)
        {
            foreach (byte b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\r' or (byte)'\t'))
                {
                    return false;
                }
            }
        }
        return true;
    }

    private async Task<byte[]> GetBytesAsync(string path, CancellationToken cancellationToken)
    {
        using CancellationTokenSource timeout = Timeout(cancellationToken);
        using HttpRequestMessage request = await RequestAsync(HttpMethod.Get, path, timeout.Token).ConfigureAwait(false);
        using HttpResponseMessage response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
    }

    private CancellationTokenSource Timeout(CancellationToken cancellationToken)
    {
        CancellationTokenSource cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(requestTimeout);
        return cts;
    }

    private async Task<HttpRequestMessage> RequestAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        HttpRequestMessage request = new(method, path);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.UserAgent.ParseAdd("twill/1.0");
        if (await Connection.AuthorizationAsync(cancellationToken).ConfigureAwait(false) is { } auth)
        {
            request.Headers.Authorization = auth;
        }
        return request;
    }

    /// <summary>Sends; a non-success answer is a <see cref="KubeApiException"/> with the server's message and what to check.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        string what = $"{request.Method} {Connection.BaseUri}{request.RequestUri}";
        HttpResponseMessage response;
        try
        {
            response = await Connection.Http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new KubeApiException($"{what}: cannot reach the API server: {e.Message}", null, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested || e.InnerException is TimeoutException)
        {
            throw new KubeApiException($"{what}: no answer within {requestTimeout.TotalSeconds:F0} s", null, e);
        }
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            string body = "";
            try
            {
                body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException)
            {
            }
            string message = StatusMessage(body);
            string hint = response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => $": the API server refused the credentials from {Connection.Source} (wrong or expired token?)",
                HttpStatusCode.Forbidden => ": not allowed; the agent's RBAC needs nodes get/list/watch, nodes/status patch and pods get",
                _ => "",
            };
            throw new KubeApiException($"{what}: {(int)response.StatusCode} {response.ReasonPhrase}{hint}{(message.Length > 0 ? ": " + message : "")}", response.StatusCode);
        }
    }

    private static string StatusMessage(string body)
    {
        if (body.Length == 0)
        {
            return "";
        }
        try
        {
            using JsonDocument doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out JsonElement m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : body.Length > 200 ? body[..200] : body;
        }
        catch (JsonException)
        {
            return body.Length > 200 ? body[..200].Trim() : body.Trim();
        }
    }
}
