using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>
/// The few etcd v3 calls the lab makes (health, put the network config), through etcd's JSON
/// gateway over plain HTTP, from a socket inside a lab namespace: no gRPC client, no process.
/// </summary>
internal sealed class EtcdGateway
{
    private readonly NetNs _ns;
    private readonly Uri _endpoint;

    public EtcdGateway(NetNs ns, Uri endpoint)
    {
        _ns = ns;
        _endpoint = endpoint;
    }

    public bool IsHealthy()
    {
        try
        {
            using HttpClient http = Client();
            string body = http.GetStringAsync(new Uri(_endpoint, "/health")).GetAwaiter().GetResult();
            return body.Contains("\"health\":\"true\"", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    public void Put(string key, string value)
    {
        JsonObject request = new()
        {
            ["key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(key)),
            ["value"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)),
        };
        using HttpClient http = Client();
        using StringContent content = new(request.ToJsonString(), Encoding.UTF8, "application/json");
        using HttpResponseMessage response = http.PostAsync(new Uri(_endpoint, "/v3/kv/put"), content).GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode)
        {
            throw new LabStepException($"etcd put {key}: HTTP {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    }

    private HttpClient Client()
    {
        NetNs ns = _ns;
        SocketsHttpHandler handler = new()
        {
            UseProxy = false,
            ConnectCallback = async (context, token) =>
            {
                Socket s = ns.Run(static () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
                try
                {
                    await s.ConnectAsync(context.DnsEndPoint, token).ConfigureAwait(false);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
    }
}
