using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Grpc.Net.Client;
using Twill.Core;

namespace Twill.Leases.Etcd;

/// <summary>
/// One etcd member's client URL with its own gRPC channel. Endpoints are kept apart (rather than one
/// load-balanced channel) so that a failure names the member it came from and failover is ours to order.
/// </summary>
internal sealed class EtcdEndpoint : IDisposable
{
    private readonly GrpcChannel _channel;

    public EtcdEndpoint(string url, EtcdLeaseStoreOptions options, X509Certificate2? ca, X509Certificate2? clientCertificate)
    {
        Url = url.TrimEnd('/');
        SocketsHttpHandler handler = new()
        {
            ConnectTimeout = options.DialTimeout,
            // Pings find a member that vanished without closing the connection (a partition), so a
            // watch does not wait forever on a dead stream.
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (Url.StartsWith("https://", StringComparison.Ordinal))
        {
            SslClientAuthenticationOptions ssl = new();
            if (clientCertificate is not null)
            {
                ssl.ClientCertificates = [clientCertificate];
            }
            if (ca is not null)
            {
                ssl.RemoteCertificateValidationCallback = PrivateCaTrust.Callback(ca);
            }
            handler.SslOptions = ssl;
        }
        _channel = GrpcChannel.ForAddress(Url, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            // A listing of thousands of leases is larger than gRPC's 4 MB default.
            MaxReceiveMessageSize = 256 * 1024 * 1024,
        });
        Kv = new Etcdserverpb.KV.KVClient(_channel);
        Watch = new Etcdserverpb.Watch.WatchClient(_channel);
        Lease = new Etcdserverpb.Lease.LeaseClient(_channel);
        Auth = new Etcdserverpb.Auth.AuthClient(_channel);
    }

    public string Url { get; }

    public Etcdserverpb.KV.KVClient Kv { get; }

    public Etcdserverpb.Watch.WatchClient Watch { get; }

    public Etcdserverpb.Lease.LeaseClient Lease { get; }

    public Etcdserverpb.Auth.AuthClient Auth { get; }

    /// <summary>This member's auth token. etcd's simple tokens are only known to the member that issued them, hence one per endpoint.</summary>
    public string? Token { get; set; }

    public void Dispose() => _channel.Dispose();
}
