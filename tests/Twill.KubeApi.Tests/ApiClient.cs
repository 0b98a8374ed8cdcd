using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Twill.KubeApi.Tests;

/// <summary>Plain HTTP calls to the stand-in, answers parsed as JSON, and watch streams read line by line.</summary>
internal sealed class ApiClient(HttpClient http) : IDisposable
{
    public HttpClient Http { get; } = http;

    public async Task<(HttpStatusCode Code, JsonObject Body)> SendAsync(HttpMethod method, string path, string? body = null, string contentType = "application/json", string? accept = null)
    {
        using HttpRequestMessage request = new(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        }
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }
        using HttpResponseMessage response = await Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonObject parsed = JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"{method} {path}: not a JSON object: {text}");
        return (response.StatusCode, parsed);
    }

    public Task<(HttpStatusCode Code, JsonObject Body)> GetAsync(string path, string? accept = null) => SendAsync(HttpMethod.Get, path, accept: accept);

    public async Task<JsonObject> OkAsync(HttpMethod method, string path, string? body = null, string contentType = "application/json")
    {
        (HttpStatusCode code, JsonObject obj) = await SendAsync(method, path, body, contentType);
        Assert.True(code is HttpStatusCode.OK or HttpStatusCode.Created, $"{method} {path}: {(int)code} {obj.ToJsonString()}");
        return obj;
    }

    public Task<JsonObject> CreateNodeAsync(string name, string? labelsJson = null, string? spec = null) =>
        OkAsync(HttpMethod.Post, "/api/v1/nodes", $$"""{"apiVersion":"v1","kind":"Node","metadata":{"name":"{{name}}","labels":{{labelsJson ?? "{}"}}},"spec":{{spec ?? "{}"}}}""");

    public Task<JsonObject> PatchAsync(string path, string patch, string type = "application/merge-patch+json") => OkAsync(HttpMethod.Patch, path, patch, type);

    public async Task<WatchStream> WatchAsync(string query)
    {
        HttpRequestMessage request = new(HttpMethod.Get, "/api/v1/nodes?watch=1&" + query);
        HttpResponseMessage response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new WatchStream(request, response);
    }

    public void Dispose() => Http.Dispose();

    public static string Rv(JsonObject obj) => obj["metadata"]!["resourceVersion"]!.GetValue<string>();

    public static long RvNumber(JsonObject obj) => long.Parse(Rv(obj), System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The events of one watch response, in order; <see cref="Ended"/> once the server closed it.</summary>
internal sealed class WatchStream : IAsyncDisposable
{
    private readonly HttpRequestMessage _request;
    private readonly HttpResponseMessage _response;
    private readonly Channel<JsonObject> _events = Channel.CreateUnbounded<JsonObject>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    public WatchStream(HttpRequestMessage request, HttpResponseMessage response)
    {
        _request = request;
        _response = response;
        _reader = Task.Run(ReadAsync);
    }

    public bool Ended => _reader.IsCompleted;

    private async Task ReadAsync()
    {
        try
        {
            using StreamReader reader = new(await _response.Content.ReadAsStreamAsync(_stop.Token));
            while (await reader.ReadLineAsync(_stop.Token) is string line)
            {
                if (line.Length > 0)
                {
                    _events.Writer.TryWrite((JsonObject)JsonNode.Parse(line)!);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    /// <summary>The next event; fails the test when none comes in <paramref name="timeout"/> (default 20 s, generous for a loaded machine).</summary>
    public async Task<JsonObject> NextAsync(TimeSpan? timeout = null)
    {
        using CancellationTokenSource cts = new(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            return await _events.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no watch event within the deadline");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException("the watch ended");
        }
    }

    /// <summary>The next event that is not a BOOKMARK.</summary>
    public async Task<JsonObject> NextChangeAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            JsonObject e = await NextAsync(timeout);
            if (e["type"]!.GetValue<string>() != "BOOKMARK")
            {
                return e;
            }
        }
    }

    /// <summary>Waits for the server to end the stream; returns the events still unread.</summary>
    public async Task<List<JsonObject>> ReadToEndAsync(TimeSpan timeout)
    {
        List<JsonObject> rest = [];
        using CancellationTokenSource cts = new(timeout);
        await foreach (JsonObject e in _events.Reader.ReadAllAsync(cts.Token))
        {
            rest.Add(e);
        }
        return rest;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        _request.Dispose();
        try
        {
            await _reader;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}

internal static class Events
{
    public static string Type(JsonObject e) => e["type"]!.GetValue<string>();

    public static string Name(JsonObject e) => e["object"]!["metadata"]!["name"]?.GetValue<string>() ?? "";

    public static JsonObject Object(JsonObject e) => e["object"]!.AsObject();
}
