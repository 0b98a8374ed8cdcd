using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Twill.Core;

namespace Twill.KubeApi.Storage;

/// <summary>
/// The etcd v3 calls kube-apiserver's etcd3 store makes, over one gRPC channel per member. A member
/// that is unavailable is skipped for the next one in <c>--etcd-servers</c> order; every other failure
/// is the caller's to map (a compacted revision becomes 410, as in kube-apiserver).
/// </summary>
internal sealed class EtcdStorage : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private readonly KV.KVClient[] _kv;
    private readonly Watch.WatchClient[] _watch;
    private int _current;

    public EtcdStorage(IReadOnlyList<string> urls, X509Certificate2? ca = null, X509Certificate2? clientCertificate = null)
    {
        if (urls.Count == 0)
        {
            throw new ArgumentException("--etcd-servers: at least one URL is required", nameof(urls));
        }
        Urls = urls;
        _channels = [.. urls.Select(u => GrpcChannel.ForAddress(u, new GrpcChannelOptions
        {
            HttpHandler = Handler(ca, clientCertificate),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 512 * 1024 * 1024,
        }))];
        _kv = [.. _channels.Select(c => new KV.KVClient(c))];
        _watch = [.. _channels.Select(c => new Watch.WatchClient(c))];
    }

    public IReadOnlyList<string> Urls { get; }

    private static SocketsHttpHandler Handler(X509Certificate2? ca, X509Certificate2? clientCertificate)
    {
        SocketsHttpHandler handler = new()
        {
            ConnectTimeout = TimeSpan.FromSeconds(3),
            // Pings find a member that vanished without closing the connection, so a watch does not hang on it.
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
        };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }
        if (ca is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = PrivateCaTrust.Callback(ca);
        }
        return handler;
    }

    public static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);

    /// <summary>The end of the range holding every key that starts with <paramref name="prefix"/> (clientv3.GetPrefixRangeEnd).</summary>
    public static ByteString PrefixEnd(string prefix)
    {
        byte[] end = System.Text.Encoding.UTF8.GetBytes(prefix);
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0);
    }

    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken) =>
        CallAsync((kv, o) => kv.RangeAsync(request, o).ResponseAsync, cancellationToken);

    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken) =>
        CallAsync((kv, o) => kv.TxnAsync(request, o).ResponseAsync, cancellationToken);

    /// <summary>A watch stream on the current member; the caller writes the create request and reads events.</summary>
    public AsyncDuplexStreamingCall<WatchRequest, WatchResponse> OpenWatch(CancellationToken cancellationToken)
    {
        Metadata headers = new() { { "hasleader", "true" } };
        return _watch[Volatile.Read(ref _current)].Watch(new CallOptions(headers, cancellationToken: cancellationToken));
    }

    /// <summary>Reports the member given up on, so the next call (or watch) goes to the next one.</summary>
    public void MemberFailed() => Interlocked.Exchange(ref _current, (Volatile.Read(ref _current) + 1) % _channels.Length);

    private async Task<T> CallAsync<T>(Func<KV.KVClient, CallOptions, Task<T>> call, CancellationToken cancellationToken)
    {
        RpcException? last = null;
        for (int attempt = 0; attempt < _channels.Length; attempt++)
        {
            int member = Volatile.Read(ref _current);
            try
            {
                CallOptions options = new(deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
                return await call(_kv[member], options).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && !cancellationToken.IsCancellationRequested)
            {
                last = e;
                Interlocked.CompareExchange(ref _current, (member + 1) % _channels.Length, member);
            }
        }
        throw last!;
    }

    public static bool IsCompacted(RpcException e) => e.Status.Detail.Contains("required revision has been compacted", StringComparison.Ordinal);

    public static bool IsFutureRevision(RpcException e) => e.Status.Detail.Contains("required revision is a future revision", StringComparison.Ordinal);

    public void Dispose()
    {
        foreach (GrpcChannel c in _channels)
        {
            c.Dispose();
        }
    }
}
