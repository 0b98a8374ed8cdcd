using System.Globalization;
using System.Net;

namespace Twill.KubeApi;

/// <summary>The command line, with kube-apiserver's flag names where it has one (<c>--flag=value</c> or <c>--flag value</c>).</summary>
internal sealed record ServerOptions
{
    public IReadOnlyList<string> EtcdServers { get; init; } = [];

    public string EtcdPrefix { get; init; } = "/registry";

    /// <summary>The CA that signed etcd's serving certificate (https etcd URLs).</summary>
    public string? EtcdCaFile { get; init; }

    /// <summary>A client certificate and key for etcd's client-cert auth.</summary>
    public string? EtcdCertFile { get; init; }

    public string? EtcdKeyFile { get; init; }

    public IPAddress BindAddress { get; init; } = IPAddress.Any;

    /// <summary>The https port; 0 turns https off.</summary>
    public int SecurePort { get; init; } = 6443;

    public string? TlsCertFile { get; init; }

    public string? TlsPrivateKeyFile { get; init; }

    /// <summary>A plain-http port (kube-apiserver's removed --insecure-port), for tests; 0 = none.</summary>
    public int InsecurePort { get; init; }

    public IPAddress InsecureBindAddress { get; init; } = IPAddress.Loopback;

    public string? TokenAuthFile { get; init; }

    /// <summary>How often a watch that allows bookmarks gets one (kube-apiserver: about a minute).</summary>
    public TimeSpan WatchBookmarkInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>A watch without timeoutSeconds ends after a random time between this and twice this, as kube-apiserver's.</summary>
    public TimeSpan MinRequestTimeout { get; init; } = TimeSpan.FromSeconds(1800);

    public const string Usage = """
        usage: twill-kube-apiserver --etcd-servers=URL[,URL...] [flags]
               twill-kube-apiserver gen-certs --dir DIR [--ip IP]... [--dns NAME]... [--days N]

        An API server stand-in for the resources Twill uses (core/v1 nodes, nodes/status, pods), storing
        them in etcd as kube-apiserver does (JSON at /registry/minions/<name>, /registry/pods/<ns>/<name>).

          --etcd-servers URLS            etcd client URLs, comma-separated (required)
          --etcd-prefix PREFIX           key prefix (default /registry)
          --etcd-cafile FILE             CA of etcd's serving certificate (https etcd)
          --etcd-certfile FILE           client certificate for etcd
          --etcd-keyfile FILE            its private key
          --bind-address IP              address of the https port (default 0.0.0.0)
          --secure-port N                https port, 0 for none (default 6443)
          --tls-cert-file FILE           serving certificate (PEM), required for https
          --tls-private-key-file FILE    its private key (PEM)
          --insecure-port N              plain http port, 0 for none (default 0)
          --insecure-bind-address IP     address of the http port (default 127.0.0.1)
          --token-auth-file FILE         bearer tokens, one a line or kube's csv token,user,uid[,"groups"];
                                         without it every request is allowed
          --watch-bookmark-interval D    BOOKMARK period for watches that allow them (default 1m)
          --min-request-timeout SECONDS  a watch without timeoutSeconds lasts this to twice this (default 1800)
        """;

    public static ServerOptions Parse(IReadOnlyList<string> args)
    {
        ServerOptions o = new();
        foreach ((string name, string value) in Flags.Parse(args))
        {
            o = name switch
            {
                "etcd-servers" => o with { EtcdServers = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] },
                "etcd-prefix" => o with { EtcdPrefix = "/" + value.Trim('/') },
                "etcd-cafile" => o with { EtcdCaFile = value },
                "etcd-certfile" => o with { EtcdCertFile = value },
                "etcd-keyfile" => o with { EtcdKeyFile = value },
                "bind-address" => o with { BindAddress = Flags.Address(name, value) },
                "secure-port" => o with { SecurePort = Flags.Port(name, value) },
                "tls-cert-file" => o with { TlsCertFile = value },
                "tls-private-key-file" => o with { TlsPrivateKeyFile = value },
                "insecure-port" => o with { InsecurePort = Flags.Port(name, value) },
                "insecure-bind-address" => o with { InsecureBindAddress = Flags.Address(name, value) },
                "token-auth-file" => o with { TokenAuthFile = value },
                "watch-bookmark-interval" => o with { WatchBookmarkInterval = Flags.Duration(name, value) },
                "min-request-timeout" => o with { MinRequestTimeout = TimeSpan.FromSeconds(Flags.Int(name, value, 1, int.MaxValue)) },
                _ => throw new UsageException($"unknown flag: --{name}"),
            };
        }
        if (o.EtcdServers.Count == 0)
        {
            throw new UsageException("--etcd-servers must be specified");
        }
        foreach (string url in o.EtcdServers)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? u) || u.Scheme is not ("http" or "https"))
            {
                throw new UsageException($"--etcd-servers: \"{url}\" is not an http(s) URL");
            }
        }
        if ((o.EtcdCertFile is null) != (o.EtcdKeyFile is null))
        {
            throw new UsageException("--etcd-certfile and --etcd-keyfile go together");
        }
        if (o.SecurePort == 0 && o.InsecurePort == 0)
        {
            throw new UsageException("--secure-port=0 and no --insecure-port: nothing to serve");
        }
        if (o.SecurePort != 0 && (o.TlsCertFile is null || o.TlsPrivateKeyFile is null))
        {
            throw new UsageException("--tls-cert-file and --tls-private-key-file are required for --secure-port (make them with `twill-kube-apiserver gen-certs`, or use --secure-port=0 --insecure-port=N)");
        }
        return o;
    }
}

/// <summary>A bad command line: the message names the flag and value.</summary>
internal sealed class UsageException(string message) : Exception(message);

internal static class Flags
{
    /// <summary>Splits <c>--name=value</c> and <c>--name value</c> (a lone <c>--name</c> is "true").</summary>
    public static IEnumerable<(string Name, string Value)> Parse(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                throw new UsageException($"unexpected argument \"{a}\"");
            }
            int eq = a.IndexOf('=');
            if (eq > 0)
            {
                yield return (a[2..eq], a[(eq + 1)..]);
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                yield return (a[2..], args[++i]);
            }
            else
            {
                yield return (a[2..], "true");
            }
        }
    }

    public static IPAddress Address(string name, string value) =>
        IPAddress.TryParse(value, out IPAddress? ip) ? ip : throw new UsageException($"--{name}: \"{value}\" is not an IP address");

    public static int Port(string name, string value) => Int(name, value, 0, 65535);

    public static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n
            : throw new UsageException($"--{name}: \"{value}\" is not a number in {min}..{max}");

    /// <summary>Go's duration syntax for the units that make sense here: 500ms, 10s, 1m, 1h.</summary>
    public static TimeSpan Duration(string name, string value)
    {
        (string unit, double scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach ((string unit, double scale) in units)
        {
            if (value.EndsWith(unit, StringComparison.Ordinal)
                && double.TryParse(value[..^unit.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n) && n > 0)
            {
                return TimeSpan.FromSeconds(n * scale);
            }
        }
        throw new UsageException($"--{name}: \"{value}\" is not a duration (e.g. 500ms, 10s, 1m)");
    }
}
