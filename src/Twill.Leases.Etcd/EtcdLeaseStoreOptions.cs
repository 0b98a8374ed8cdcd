namespace Twill.Leases.Etcd;

/// <summary>
/// How to reach etcd: Flannel's <c>--etcd-endpoints</c>, <c>--etcd-prefix</c>, <c>--etcd-cafile</c>,
/// <c>--etcd-certfile</c>, <c>--etcd-keyfile</c>, <c>--etcd-username</c>, <c>--etcd-password</c>.
/// </summary>
public sealed record EtcdLeaseStoreOptions
{
    /// <summary>Flannel's default prefix.</summary>
    public const string DefaultPrefix = "/coreos.com/network";

    /// <summary>Flannel's default endpoint: etcd on this machine.</summary>
    public const string DefaultEndpoint = "http://127.0.0.1:2379";

    /// <summary>Client URLs (<c>http://</c> or <c>https://</c>); the store fails over from one to the next when one dies.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [DefaultEndpoint];

    public string Prefix { get; init; } = DefaultPrefix;

    /// <summary>PEM CA that signed the servers' certificates; when absent the system's roots are used.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate and its key, for etcd's <c>--client-cert-auth</c>.</summary>
    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>How long to wait for a TCP (and TLS) connection to one endpoint before trying the next.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline of one unary request to one endpoint.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Every problem at once, each naming the option and its value; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        List<string> errors = [];
        if (Endpoints.Count == 0)
        {
            errors.Add("etcd endpoints: none given");
        }
        foreach (string endpoint in Endpoints)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.AbsolutePath.Length > 1)
            {
                errors.Add($"etcd endpoint {endpoint}: not an http:// or https:// URL of the form scheme://host:port");
            }
        }
        if (string.IsNullOrEmpty(Prefix) || Prefix[0] != '/')
        {
            errors.Add($"etcd prefix {Prefix}: must start with '/'");
        }
        if ((CertFile is null) != (KeyFile is null))
        {
            errors.Add($"etcd certfile {CertFile ?? "(none)"} and keyfile {KeyFile ?? "(none)"}: give both or neither");
        }
        foreach ((string name, string? file) in new[] { ("cafile", CaFile), ("certfile", CertFile), ("keyfile", KeyFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                errors.Add($"etcd {name} {file}: no such file");
            }
        }
        if ((Username is null) != (Password is null))
        {
            errors.Add($"etcd username {Username ?? "(none)"}: a username needs a password and the reverse");
        }
        if (DialTimeout <= TimeSpan.Zero)
        {
            errors.Add($"etcd dial timeout {DialTimeout}: must be positive");
        }
        if (RequestTimeout <= TimeSpan.Zero)
        {
            errors.Add($"etcd request timeout {RequestTimeout}: must be positive");
        }
        return errors;
    }
}
