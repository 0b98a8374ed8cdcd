using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Twill.Core;

/// <summary>
/// The TLS server check of a client that trusts one private CA (etcd's <c>--cacert</c>, the API
/// server's <c>--etcd-cafile</c>): the server's chain must end at that CA, not at the system's roots,
/// and its name must match the URL's host.
/// </summary>
public static class PrivateCaTrust
{
    /// <summary>A <see cref="RemoteCertificateValidationCallback"/> that accepts only servers <paramref name="ca"/> vouches for.</summary>
    public static RemoteCertificateValidationCallback Callback(X509Certificate2 ca)
    {
        ArgumentNullException.ThrowIfNull(ca);
        return (_, certificate, _, errors) => Trusts(ca, certificate, errors);
    }

    /// <summary>True when <paramref name="certificate"/> names the host and chains to <paramref name="ca"/>.</summary>
    public static bool Trusts(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        ArgumentNullException.ThrowIfNull(ca);
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }
        using X509Chain chain = new();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using X509Certificate2 server = new(certificate);
        return chain.Build(server);
    }
}
