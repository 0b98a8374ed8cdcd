using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Twill.Testing;

/// <summary>
/// The API server stand-in (out/bin/twill-kube-apiserver, from <c>make build</c>; TWILL_KUBE_APISERVER
/// overrides) on a real etcd, for one test: https on a free port with a fresh CA (gen-certs), a bearer
/// token file, plain http on another port, and a kubeconfig for kubectl or KubernetesClient. The
/// stand-in can be stopped (SIGTERM) and started again on the same ports; its state is etcd's.
/// Dispose stops it by PID, then etcd (when this helper started it), and deletes the directory.
/// </summary>
public sealed class KubeApiServer : IDisposable
{
    public const string KubectlPath = "/usr/bin/kubectl";

    private static readonly List<KubeApiServer> s_live = [];
    private readonly bool _ownsEtcd;
    private readonly ProcessLog _log = new();
    private readonly Lock _gate = new();
    private Process? _process;
    private bool _disposed;

    static KubeApiServer()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            KubeApiServer[] all;
            lock (s_live)
            {
                all = [.. s_live];
            }
            foreach (KubeApiServer s in all)
            {
                s.Kill();
            }
        };
    }

    private KubeApiServer(EtcdServer etcd, bool ownsEtcd, string directory, int securePort, int insecurePort, string token, TimeSpan bookmarkInterval)
    {
        Etcd = etcd;
        _ownsEtcd = ownsEtcd;
        Directory = directory;
        SecurePort = securePort;
        InsecurePort = insecurePort;
        Token = token;
        BookmarkInterval = bookmarkInterval;
    }

    /// <summary>The binary: TWILL_KUBE_APISERVER, else the repository's out/bin/twill-kube-apiserver.</summary>
    public static string BinaryPath
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("TWILL_KUBE_APISERVER");
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }
            string dir = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(dir, "Twill.slnx")))
            {
                dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found; set TWILL_KUBE_APISERVER");
            }
            return Path.Combine(dir, "out", "bin", "twill-kube-apiserver");
        }
    }

    public static bool IsInstalled => File.Exists(BinaryPath) && EtcdServer.IsInstalled;

    public EtcdServer Etcd { get; }

    /// <summary>Holds the kubeconfig, token file, certificates (pki/) and the stand-in's log.</summary>
    public string Directory { get; }

    public int SecurePort { get; }

    public int InsecurePort { get; }

    /// <summary>The https URL, verified with <see cref="CaFile"/>.</summary>
    public string Url => $"https://127.0.0.1:{SecurePort}";

    /// <summary>Plain http, no TLS (still token-checked).</summary>
    public string InsecureUrl => $"http://127.0.0.1:{InsecurePort}";

    /// <summary>The one valid bearer token (user "admin").</summary>
    public string Token { get; }

    public string TokenFile => Path.Combine(Directory, "tokens.csv");

    public string CaFile => Path.Combine(Directory, "pki", "ca.crt");

    public string CertFile => Path.Combine(Directory, "pki", "apiserver.crt");

    public string KeyFile => Path.Combine(Directory, "pki", "apiserver.key");

    /// <summary>A kubeconfig for <see cref="Url"/> with the CA and the token.</summary>
    public string KubeconfigPath => Path.Combine(Directory, "kubeconfig");

    public TimeSpan BookmarkInterval { get; }

    public int? Pid { get { lock (_gate) { return _process is { HasExited: false } ? _process.Id : null; } } }

    /// <summary>
    /// Starts etcd (unless <paramref name="etcd"/> is given; then it is not stopped by Dispose) and the stand-in.
    /// </summary>
    /// <param name="extraSans">More IPs for the serving certificate (e.g. a lab's control-plane address).</param>
    public static KubeApiServer Start(EtcdServer? etcd = null, TimeSpan? bookmarkInterval = null, IEnumerable<string>? extraSans = null)
    {
        if (!File.Exists(BinaryPath))
        {
            throw new InvalidOperationException($"{BinaryPath} is missing: run `make build` (or set TWILL_KUBE_APISERVER)");
        }
        bool owns = etcd is null;
        etcd ??= EtcdServer.Start();
        string dir = System.IO.Directory.CreateTempSubdirectory($"twill-kubeapi-{Environment.ProcessId}-").FullName;
        KubeApiServer? server = null;
        try
        {
            int[] ports = LoopbackPorts.Free(2);
            string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
            server = new KubeApiServer(etcd, owns, dir, ports[0], ports[1], token, bookmarkInterval ?? TimeSpan.FromSeconds(1));
            List<string> genArgs = ["gen-certs", "--dir", Path.Combine(dir, "pki")];
            foreach (string ip in extraSans ?? [])
            {
                genArgs.AddRange(["--ip", ip]);
            }
            Tool.Run(BinaryPath, genArgs, stdin: null).EnsureSuccess("twill-kube-apiserver gen-certs");
            File.WriteAllText(server.TokenFile, $"{token},admin,admin-uid,\"system:masters\"\n");
            File.WriteAllText(server.KubeconfigPath, server.Kubeconfig(server.Url, token));
            server.StartProcess();
            return server;
        }
        catch
        {
            if (server is not null)
            {
                server.Dispose();
            }
            else
            {
                if (owns)
                {
                    etcd.Dispose();
                }
                System.IO.Directory.Delete(dir, recursive: true);
            }
            throw;
        }
    }

    /// <summary>A kubeconfig for <paramref name="server"/> trusting our CA, authenticating with <paramref name="token"/>.</summary>
    public string Kubeconfig(string server, string token) => Kubeconfig(server, CaFile, token);

    /// <summary>A kubeconfig for <paramref name="server"/> trusting <paramref name="caFile"/>, authenticating with <paramref name="token"/>.</summary>
    public static string Kubeconfig(string server, string caFile, string token) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: twill
          cluster:
            server: {server}
            certificate-authority: {caFile}
        users:
        - name: admin
          user:
            token: {token}
        contexts:
        - name: twill
          context:
            cluster: twill
            user: admin
        current-context: twill
        """;

    /// <summary>The command line the stand-in runs with.</summary>
    public IReadOnlyList<string> Arguments =>
    [
        "--etcd-servers=" + string.Join(',', Etcd.ClientUrls),
        .. Etcd.Tls is null ? Array.Empty<string>() : ["--etcd-cafile=" + Etcd.Tls.CaFile, "--etcd-certfile=" + Etcd.Tls.ClientCertFile, "--etcd-keyfile=" + Etcd.Tls.ClientKeyFile],
        "--bind-address=127.0.0.1",
        "--secure-port=" + SecurePort.ToString(CultureInfo.InvariantCulture),
        "--tls-cert-file=" + CertFile,
        "--tls-private-key-file=" + KeyFile,
        "--insecure-port=" + InsecurePort.ToString(CultureInfo.InvariantCulture),
        "--token-auth-file=" + TokenFile,
        "--watch-bookmark-interval=" + ((int)BookmarkInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms",
    ];

    private void StartProcess()
    {
        lock (_gate)
        {
            if (_process is { HasExited: false })
            {
                throw new InvalidOperationException($"twill-kube-apiserver already runs (pid {_process.Id})");
            }
            _process?.Dispose();
            ProcessStartInfo psi = new(BinaryPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in Arguments)
            {
                psi.ArgumentList.Add(a);
            }
            Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {BinaryPath}");
            p.OutputDataReceived += (_, e) => _log.Append(e.Data);
            p.ErrorDataReceived += (_, e) => _log.Append(e.Data);
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _process = p;
            lock (s_live)
            {
                s_live.Add(this);
            }
        }
        WaitReady();
    }

    private void WaitReady()
    {
        using HttpClient http = new() { Timeout = TimeSpan.FromSeconds(2) };
        Stopwatch clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_gate)
            {
                if (_process is null || _process.HasExited)
                {
                    throw new InvalidOperationException($"twill-kube-apiserver exited during start: {LogTail()}");
                }
            }
            try
            {
                using HttpResponseMessage r = http.GetAsync(InsecureUrl + "/readyz").GetAwaiter().GetResult();
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"twill-kube-apiserver not ready after 30 s: {LogTail()}");
            }
            Thread.Sleep(50);
        }
    }

    /// <summary>Stops the stand-in with SIGTERM (a clean exit is expected) and waits; etcd keeps running.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_process is null || _process.HasExited)
            {
                return;
            }
            Tool.Run("kill", "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture));
            if (!_process.WaitForExit(15_000))
            {
                _process.Kill();
                _process.WaitForExit(5_000);
                throw new TimeoutException($"twill-kube-apiserver did not exit within 15 s of SIGTERM: {LogTail()}");
            }
            _process.WaitForExit();
        }
    }

    /// <summary>The stand-in's exit code after <see cref="Stop"/>.</summary>
    public int? ExitCode { get { lock (_gate) { return _process is { HasExited: true } ? _process.ExitCode : null; } } }

    /// <summary>Starts the stand-in again on the same ports, certificates, tokens and etcd.</summary>
    public void Restart()
    {
        Stop();
        StartProcess();
    }

    private void Kill()
    {
        lock (_gate)
        {
            try
            {
                if (_process is { HasExited: false })
                {
                    _process.Kill();
                    _process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    /// <summary>Runs the real kubectl against the stand-in with our kubeconfig.</summary>
    public Tool.Result Kubectl(params string[] args) => Kubectl(args, stdin: null);

    public Tool.Result Kubectl(IEnumerable<string> args, string? stdin) =>
        Tool.Run(KubectlPath, ["--kubeconfig=" + KubeconfigPath, "--request-timeout=20s", .. args], stdin, TimeSpan.FromSeconds(60));

    /// <summary>An HttpClient for <see cref="Url"/> that trusts only our CA; with <paramref name="token"/> (default: the valid one) as bearer.</summary>
    public HttpClient CreateHttpClient(string? token = "", bool https = true)
    {
        X509Certificate2 ca = X509CertificateLoader.LoadCertificateFromFile(CaFile);
        SocketsHttpHandler handler = new();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (cert is null || (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return false;
            }
            using X509Chain chain = new();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using X509Certificate2 leaf = new(cert);
            return chain.Build(leaf);
        };
        HttpClient client = new(handler, disposeHandler: true) { BaseAddress = new Uri(https ? Url : InsecureUrl), Timeout = TimeSpan.FromSeconds(60) };
        string? bearer = token == "" ? Token : token;
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return client;
    }

    /// <summary>The stand-in's last log lines, for failure messages.</summary>
    public string LogTail() => _log.Tail(3000);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            Stop();
        }
        catch (TimeoutException)
        {
        }
        lock (s_live)
        {
            s_live.Remove(this);
        }
        if (_ownsEtcd)
        {
            Etcd.Dispose();
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
