using System.Net;
using System.Net.Sockets;
using System.Text;
using Twill.Core;

namespace Twill.Agent;

/// <summary>
/// A tiny HTTP/1.1 server on a socket for <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>: one
/// request per connection, then close. Small and AOT-clean; nothing else is served.
/// </summary>
public sealed class HealthServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<bool> _alive;
    private readonly AgentMetrics _metrics;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public HealthServer(IPAddress address, int port, Func<bool> alive, AgentMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(address);
        _alive = alive;
        _metrics = metrics;
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(address, port));
        _listener.Listen(16);
        Endpoint = (IPEndPoint)_listener.LocalEndPoint!;
        _loop = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint Endpoint { get; }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                byte[] buffer = new byte[4096];
                int length = await SocketReads.ReceiveAsync(client, buffer,
                    head => head.Span.IndexOf("\r\n\r\n"u8) >= 0 || head.Span.IndexOf("\n\n"u8) >= 0, timeout.Token).ConfigureAwait(false);
                string request = Encoding.ASCII.GetString(buffer, 0, length);
                string[] first = request.Split('\n', 2)[0].Trim().Split(' ');
                string path = first.Length >= 2 ? first[1].Split('?')[0] : "";
                (int status, string contentType, string body) = Route(first.Length >= 1 ? first[0] : "", path);
                byte[] payload = Encoding.UTF8.GetBytes(body);
                string head = $"HTTP/1.1 {status} {Reason(status)}\r\nContent-Type: {contentType}\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n";
                await client.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                await client.SendAsync(payload, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // A client that vanished or dawdled: nothing to do.
            }
        }
    }

    private (int, string, string) Route(string method, string path)
    {
        if (method is not ("GET" or "HEAD"))
        {
            return (405, "text/plain", "method not allowed\n");
        }
        return path switch
        {
            "/healthz" => _alive() ? (200, "text/plain", "ok\n") : (503, "text/plain", "reconcile loop stalled\n"),
            "/readyz" => Ready(),
            "/metrics" => (200, "text/plain; version=0.0.4; charset=utf-8", _metrics.Render()),
            _ => (404, "text/plain", "not found\n"),
        };
    }

    private (int, string, string) Ready()
    {
        (bool ready, string reason) = _metrics.Readiness.Check();
        return (ready ? 200 : 503, "text/plain", reason + "\n");
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
