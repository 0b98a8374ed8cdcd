using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Grpc.Core;

namespace Twill.Leases.Etcd;

/// <summary>
/// The members we may talk to, in order, with failover: a request goes to the member that answered
/// last; when that member is unreachable it moves on to the next, and an error lists what each
/// member said. Adds the auth token when a user is configured.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    private readonly EtcdEndpoint[] _endpoints;
    private readonly EtcdLeaseStoreOptions _options;
    private readonly X509Certificate2? _ca;
    private readonly X509Certificate2? _clientCertificate;
    private int _current;

    public EtcdConnection(EtcdLeaseStoreOptions options)
    {
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }
        _options = options;
        if (options.CaFile is not null)
        {
            _ca = X509CertificateLoader.LoadCertificateFromFile(options.CaFile);
        }
        if (options.CertFile is not null && options.KeyFile is not null)
        {
            _clientCertificate = X509Certificate2.CreateFromPemFile(options.CertFile, options.KeyFile);
        }
        _endpoints = [.. options.Endpoints.Select(e => new EtcdEndpoint(e, options, _ca, _clientCertificate))];
    }

    public IReadOnlyList<EtcdEndpoint> Endpoints => _endpoints;

    public TimeSpan RequestTimeout => _options.RequestTimeout;

    /// <summary>
    /// Runs a unary request on the current member, failing over to the others (two rounds, with a
    /// short pause between) while members are unreachable. <paramref name="operation"/> and
    /// <paramref name="key"/> only name the request in errors.
    /// </summary>
    public async Task<T> CallAsync<T>(string operation, string key, Func<EtcdEndpoint, CallOptions, Task<T>> call, CancellationToken cancellationToken)
    {
        List<string> failures = [];
        int start = Volatile.Read(ref _current);
        int attempts = _endpoints.Length * 2;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            if (attempt == _endpoints.Length)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }
            int index = (start + attempt) % _endpoints.Length;
            EtcdEndpoint endpoint = _endpoints[index];
            try
            {
                CallOptions callOptions = await CallOptionsAsync(endpoint, _options.RequestTimeout, requireLeader: false, cancellationToken).ConfigureAwait(false);
                T result = await call(endpoint, callOptions).ConfigureAwait(false);
                Volatile.Write(ref _current, index);
                return result;
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested && IsInvalidToken(e))
            {
                // The member restarted or the token expired: log in again on the next try.
                endpoint.Token = null;
                failures.Add($"{endpoint.Url}: {Describe(e)}");
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested && IsUnreachable(e))
            {
                failures.Add($"{endpoint.Url}: {Describe(e)}");
            }
            catch (RpcException e) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException($"etcd {operation} {key}: cancelled", e, cancellationToken);
            }
            catch (RpcException e)
            {
                throw new EtcdStoreException($"etcd {endpoint.Url}: {operation} {key}: {Describe(e)}", e);
            }
        }
        throw new EtcdStoreException($"etcd {operation} {key}: no member answered: {string.Join("; ", failures)}");
    }

    /// <summary>Headers (token, and <c>hasleader</c> for watches, as etcd's own client sends) and the deadline of one call.</summary>
    public async Task<CallOptions> CallOptionsAsync(EtcdEndpoint endpoint, TimeSpan? timeout, bool requireLeader, CancellationToken cancellationToken)
    {
        Metadata? headers = null;
        if (_options.Username is not null)
        {
            headers = [new Metadata.Entry("token", await TokenAsync(endpoint, cancellationToken).ConfigureAwait(false))];
        }
        if (requireLeader)
        {
            // A member cut off from its leader cancels such a watch instead of silently going stale.
            headers ??= [];
            headers.Add("hasleader", "true");
        }
        DateTime? deadline = timeout is { } t ? DateTime.UtcNow + t : null;
        return new CallOptions(headers, deadline, cancellationToken);
    }

    public int CurrentIndex => Volatile.Read(ref _current);

    private async Task<string> TokenAsync(EtcdEndpoint endpoint, CancellationToken cancellationToken)
    {
        if (endpoint.Token is { } token)
        {
            return token;
        }
        AuthenticateResponse response;
        try
        {
            response = await endpoint.Auth.AuthenticateAsync(
                new AuthenticateRequest { Name = _options.Username, Password = _options.Password },
                deadline: DateTime.UtcNow + _options.RequestTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (!IsUnreachable(e))
        {
            throw new EtcdStoreException($"etcd {endpoint.Url}: authenticate as user {_options.Username}: {Describe(e)}", e);
        }
        endpoint.Token = response.Token;
        return response.Token;
    }

    /// <summary>The member could not serve this request, but another may: down, unreachable, slow, or without a leader.</summary>
    internal static bool IsUnreachable(RpcException e) => e.StatusCode switch
    {
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => true,
        // A connection reset mid-call surfaces as Internal/Unknown; an etcd error in those codes does not move us on.
        StatusCode.Internal or StatusCode.Unknown => !e.Status.Detail.Contains("etcdserver:", StringComparison.Ordinal),
        _ => false,
    };

    internal static bool IsInvalidToken(RpcException e) =>
        e.StatusCode == StatusCode.Unauthenticated && e.Status.Detail.Contains("invalid auth token", StringComparison.Ordinal);

    internal static string Describe(RpcException e) =>
        string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : $"{e.StatusCode}: {e.Status.Detail}";

    public void Dispose()
    {
        foreach (EtcdEndpoint endpoint in _endpoints)
        {
            endpoint.Dispose();
        }
        _ca?.Dispose();
        _clientCertificate?.Dispose();
    }
}
