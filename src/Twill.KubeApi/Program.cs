using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Twill.KubeApi;
using Twill.KubeApi.Http;
using Twill.KubeApi.Storage;

try
{
    if (args.Length > 0 && args[0] is "-h" or "--help" or "help")
    {
        Console.WriteLine(ServerOptions.Usage);
        return 0;
    }
    if (args.Length > 0 && args[0] == "gen-certs")
    {
        return CertificateGenerator.Run(args[1..], Console.Out);
    }
    ServerOptions options = ServerOptions.Parse(args);
    return await ServeAsync(options).ConfigureAwait(false);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"twill-kube-apiserver: {e.Message}");
    Console.Error.WriteLine("run `twill-kube-apiserver --help` for the flags");
    return 2;
}

static async Task<int> ServeAsync(ServerOptions options)
{
    TokenAuthenticator? auth = options.TokenAuthFile is null ? null : TokenAuthenticator.Load(options.TokenAuthFile);
    X509Certificate2? certificate = null;
    if (options.SecurePort != 0)
    {
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(options.TlsCertFile!, options.TlsPrivateKeyFile);
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw new UsageException($"--tls-cert-file {options.TlsCertFile} / --tls-private-key-file {options.TlsPrivateKeyFile}: {e.Message}");
        }
    }

    X509Certificate2? etcdCa = null, etcdClient = null;
    try
    {
        etcdCa = options.EtcdCaFile is null ? null : X509CertificateLoader.LoadCertificateFromFile(options.EtcdCaFile);
        etcdClient = options.EtcdCertFile is null ? null : X509Certificate2.CreateFromPemFile(options.EtcdCertFile, options.EtcdKeyFile);
    }
    catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
    {
        throw new UsageException($"--etcd-cafile {options.EtcdCaFile} / --etcd-certfile {options.EtcdCertFile} / --etcd-keyfile {options.EtcdKeyFile}: {e.Message}");
    }

    WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
    builder.Logging.ClearProviders();
    builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
    builder.WebHost.ConfigureKestrel(k =>
    {
        k.AddServerHeader = false;
        k.Limits.MaxRequestBodySize = 3 * 1024 * 1024 + 1;
        // Watches are long and mostly quiet.
        k.Limits.MinResponseDataRate = null;
        k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(10);
        k.Limits.Http2.MaxStreamsPerConnection = 1000;
        if (certificate is not null)
        {
            k.Listen(options.BindAddress, options.SecurePort, l =>
            {
                l.Protocols = HttpProtocols.Http1AndHttp2;
                l.UseHttps(certificate);
            });
        }
        if (options.InsecurePort != 0)
        {
            k.Listen(options.InsecureBindAddress, options.InsecurePort, l => l.Protocols = HttpProtocols.Http1);
        }
    });
    await using WebApplication app = builder.Build();
    using EtcdStorage etcd = new(options.EtcdServers, etcdCa, etcdClient);
    ApiHandler handler = new(options, etcd, auth, app.Lifetime.ApplicationStopping);
    app.Run(handler.HandleAsync);
    await app.StartAsync().ConfigureAwait(false);
    List<string> serving = [];
    if (certificate is not null)
    {
        serving.Add($"https://{Host(options.BindAddress)}:{options.SecurePort}");
    }
    if (options.InsecurePort != 0)
    {
        serving.Add($"http://{Host(options.InsecureBindAddress)}:{options.InsecurePort}");
    }
    Console.WriteLine($"twill-kube-apiserver: serving {string.Join(" and ", serving)} (etcd {string.Join(",", options.EtcdServers)}, prefix {options.EtcdPrefix}, {(auth is null ? "no authentication" : $"{auth.Count} bearer token(s)")})");
    await app.WaitForShutdownAsync().ConfigureAwait(false);
    return 0;
}

static string Host(System.Net.IPAddress ip) => ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
