using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Twill.KubeApi.Resources;

namespace Twill.KubeApi.Http;

/// <summary>The bodies of requests (size-capped, JSON only) and responses (streamed, in the negotiated rendering).</summary>
internal sealed partial class ApiHandler
{
    private static async Task WriteErrorAsync(HttpContext ctx, ApiError e)
    {
        if (ctx.Response.HasStarted)
        {
            return;
        }
        await WriteJsonAsync(ctx, e.Code, e.ToStatus(), "application/json").ConfigureAwait(false);
    }

    private static async Task WriteJsonAsync(HttpContext ctx, int code, JsonNode body, string contentType)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = contentType;
        // Written straight to the response (chunked): a list of thousands of nodes is never one string.
        await using (Utf8JsonWriter writer = new(ctx.Response.Body, Json.WriterOptions))
        {
            if (body is JsonObject obj)
            {
                // Top-level arrays (a list's items, a table's rows) element by element, flushed as they go.
                writer.WriteStartObject();
                foreach ((string name, JsonNode? value) in obj)
                {
                    writer.WritePropertyName(name);
                    if (value is JsonArray array)
                    {
                        writer.WriteStartArray();
                        foreach (JsonNode? element in array)
                        {
                            WriteNode(writer, element);
                            if (writer.BytesPending > 64 * 1024)
                            {
                                await writer.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
                            }
                        }
                        writer.WriteEndArray();
                    }
                    else
                    {
                        WriteNode(writer, value);
                    }
                }
                writer.WriteEndObject();
            }
            else
            {
                body.WriteTo(writer);
            }
            await writer.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
        }
        await ctx.Response.Body.WriteAsync(s_newline, ctx.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteNode(Utf8JsonWriter writer, JsonNode? node)
    {
        if (node is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            node.WriteTo(writer);
        }
    }

    private static async Task WriteObjectAsync(HttpContext ctx, int code, ResourceKind kind, JsonObject obj)
    {
        Negotiated n = Negotiated.FromAccept(ctx.Request.Headers.Accept);
        JsonObject body = n.Rendering switch
        {
            Rendering.Table => Tables.Table(kind, n.MetaVersion, [obj], new JsonObject { ["resourceVersion"] = Meta.ResourceVersion(obj) }, IncludeObject(ctx)),
            Rendering.PartialObjectMetadata => Tables.PartialObjectMetadata(obj, n.MetaVersion),
            _ => obj,
        };
        await WriteJsonAsync(ctx, code, body, n.ContentType).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext ctx)
    {
        using MemoryStream buffer = new();
        byte[] chunk = new byte[16 * 1024];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpContext ctx)
    {
        string contentType = (ctx.Request.ContentType ?? "application/json").Split(';')[0].Trim().ToLowerInvariant();
        if (contentType is not ("application/json" or ""))
        {
            throw new ApiError(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json (got \"{contentType}\")");
        }
        byte[] body = await ReadBodyAsync(ctx).ConfigureAwait(false);
        try
        {
            return JsonNode.Parse(body) as JsonObject ?? throw ApiError.BadRequest("the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"error decoding the request body: {e.Message}");
        }
    }

    /// <summary>DeleteOptions.preconditions from the body of a DELETE, if any.</summary>
    private static async Task<(string? Uid, string? ResourceVersion)> ReadPreconditionsAsync(HttpContext ctx)
    {
        byte[] body = await ReadBodyAsync(ctx).ConfigureAwait(false);
        if (body.Length == 0)
        {
            return (null, null);
        }
        try
        {
            if (JsonNode.Parse(body) is JsonObject options && options["preconditions"] is JsonObject p)
            {
                return (Meta.Str(p, "uid"), Meta.Str(p, "resourceVersion"));
            }
            return (null, null);
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"error decoding DeleteOptions: {e.Message}");
        }
    }
}
