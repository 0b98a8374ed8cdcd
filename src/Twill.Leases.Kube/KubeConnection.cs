using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;

namespace Twill.Leases.Kube;

/// <summary>
/// The HTTP connection to the API server, configured by the official client's configuration loaders
/// (kubeconfig, or the in-cluster service account: server, CA, bearer token re-read as it rotates,
/// client certificates). Requests themselves go through <see cref="KubeApi"/>, which reads nodes as a
/// stream (the client's typed list would hold every node whole, images and all).
/// </summary>
public sealed class KubeConnection : IDisposable
{
    private readonly KubernetesClientConfiguration _config;
    private readonly HttpClient _http;

    private KubeConnection(KubernetesClientConfiguration config, string source)
    {
        _config = config;
        Source = source;
        string host = config.Host?.TrimEnd('/') ?? throw new InvalidOperationException($"{source} names no API server");
        BaseUri = new Uri(host + "/");
        _http = new HttpClient(CreateHandler(config), disposeHandler: true)
        {
            BaseAddress = BaseUri,
            Timeout = Timeout.InfiniteTimeSpan, // watches run for minutes; other requests carry their own timeout
            // A buffered answer (one Node, one Pod) is a few KB; the API server stores objects of at
            // most 1.5 MiB. Lists and watches are streamed (NodeListReader, one event per line).
            MaxResponseContentBufferSize = MaxBufferedResponseBytes,
        };
    }

    /// <summary>The most a request whose whole answer is buffered may read.</summary>
    public const int MaxBufferedResponseBytes = 4 * 1024 * 1024;

    /// <summary>The API server's address.</summary>
    public Uri BaseUri { get; }

    /// <summary>Where the configuration came from, for errors: "kubeconfig /etc/x", "in-cluster service account".</summary>
    public string Source { get; }

    public HttpClient Http => _http;

    /// <summary>Flannel's rule (clientcmd.BuildConfigFromFlags): the kubeconfig if given (its server overridden by the API URL), else the in-cluster configuration (its server overridden likewise), else the API URL alone.</summary>
    public static KubeConnection Create(KubeStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? url = string.IsNullOrEmpty(options.ApiUrl) ? null : options.ApiUrl;
        if (!string.IsNullOrEmpty(options.KubeconfigFile))
        {
            if (!File.Exists(options.KubeconfigFile))
            {
                throw new InvalidOperationException($"--kubeconfig-file {options.KubeconfigFile}: no such file");
            }
            KubernetesClientConfiguration fromFile;
            try
            {
                fromFile = KubernetesClientConfiguration.BuildConfigFromConfigFile(options.KubeconfigFile, currentContext: null, masterUrl: url);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new InvalidOperationException($"--kubeconfig-file {options.KubeconfigFile}: {e.Message}", e);
            }
            return new KubeConnection(fromFile, $"kubeconfig {options.KubeconfigFile}");
        }
        if (KubernetesClientConfiguration.IsInCluster())
        {
            KubernetesClientConfiguration inCluster = KubernetesClientConfiguration.InClusterConfig();
            if (url is not null)
            {
                inCluster.Host = url;
            }
            return new KubeConnection(inCluster, "in-cluster service account");
        }
        if (url is not null)
        {
            return new KubeConnection(new KubernetesClientConfiguration { Host = url }, $"--kube-api-url {url}");
        }
        throw new InvalidOperationException(
            "--kube-subnet-mgr: no --kubeconfig-file or --kube-api-url given, and not running in a pod (no service account token: KUBERNETES_SERVICE_HOST and /var/run/secrets/kubernetes.io/serviceaccount/token)");
    }

    /// <summary>The Authorization header for a request: the bearer token (re-read by the in-cluster provider as it rotates) or basic credentials; null when the client authenticates by certificate.</summary>
    public async ValueTask<AuthenticationHeaderValue?> AuthorizationAsync(CancellationToken cancellationToken)
    {
        if (_config.TokenProvider is not null)
        {
            return await _config.TokenProvider.GetAuthenticationHeaderAsync(cancellationToken).ConfigureAwait(false);
        }
        if (!string.IsNullOrEmpty(_config.AccessToken))
        {
            return new AuthenticationHeaderValue("Bearer", _config.AccessToken);
        }
        if (!string.IsNullOrEmpty(_config.Username))
        {
            return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_config.Username}:{_config.Password}")));
        }
        return null;
    }

    public void Dispose() => _http.Dispose();

    private static SocketsHttpHandler CreateHandler(KubernetesClientConfiguration config)
    {
        SocketsHttpHandler handler = new()
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = System.Net.DecompressionMethods.GZip,
        };
        if (!string.IsNullOrEmpty(config.TlsServerName))
        {
            handler.SslOptions.TargetHost = config.TlsServerName;
        }
        if (config.SkipTlsVerify)
        {
            // The kubeconfig's insecure-skip-tls-verify: the administrator's explicit choice, as kubectl honours it.
#pragma warning disable CA5359
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (config.SslCaCerts is { Count: > 0 } roots)
        {
            X509Certificate2Collection trusted = [.. roots];
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => Validate(certificate, errors, trusted);
        }
        if (ClientCertificate(config) is X509Certificate2 clientCert)
        {
            handler.SslOptions.ClientCertificates = [clientCert];
        }
        return handler;
    }

    /// <summary>The server's certificate must chain to the cluster's CA (the kubeconfig's certificate-authority), and name the host.</summary>
    private static bool Validate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }
        using X509Chain chain = new();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    private static X509Certificate2? ClientCertificate(KubernetesClientConfiguration config)
    {
        string? certPem = !string.IsNullOrEmpty(config.ClientCertificateData) ? Encoding.UTF8.GetString(Convert.FromBase64String(config.ClientCertificateData))
            : !string.IsNullOrEmpty(config.ClientCertificateFilePath) ? File.ReadAllText(config.ClientCertificateFilePath)
            : null;
        string? keyPem = !string.IsNullOrEmpty(config.ClientCertificateKeyData) ? Encoding.UTF8.GetString(Convert.FromBase64String(config.ClientCertificateKeyData))
            : !string.IsNullOrEmpty(config.ClientKeyFilePath) ? File.ReadAllText(config.ClientKeyFilePath)
            : null;
        if (certPem is null || keyPem is null)
        {
            return null;
        }
        using X509Certificate2 pem = X509Certificate2.CreateFromPem(certPem, keyPem);
        // An ephemeral PEM key cannot be used by SslStream on every platform; a PKCS#12 round-trip makes it usable.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
