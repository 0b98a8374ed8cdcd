using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Twill.KubeApi.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CertificateGeneratorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-kubeapi-certs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void GenCerts_ServingCertificateForTheGivenAndInClusterNames_SignedByTheCa_KeysPrivate()
    {
        using StringWriter output = new();
        Assert.Equal(0, CertificateGenerator.Run(["--dir", _dir, "--ip", "198.51.100.1", "--dns", "cp.lab"], output));

        using X509Certificate2 ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, "ca.crt"));
        using X509Certificate2 server = X509Certificate2.CreateFromPemFile(Path.Combine(_dir, "apiserver.crt"), Path.Combine(_dir, "apiserver.key"));
        Assert.True(server.HasPrivateKey);
        X509SubjectAlternativeNameExtension san = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal([IPAddress.Loopback, IPAddress.Parse("198.51.100.1")], san.EnumerateIPAddresses());
        Assert.Equal(["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost", "cp.lab"], san.EnumerateDnsNames());
        Assert.Contains(server.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>(), o => o.Value == "1.3.6.1.5.5.7.3.1");
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);

        using X509Chain chain = new();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(server), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "apiserver.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "ca.key")));
    }

    [Fact]
    public void GenCerts_WithoutDirOrWithABadIp_UsageError()
    {
        Assert.Contains("--dir", Assert.Throws<UsageException>(() => CertificateGenerator.Run(["--ip", "198.51.100.1"], TextWriter.Null)).Message, StringComparison.Ordinal);
        Assert.Contains("not-an-ip", Assert.Throws<UsageException>(() => CertificateGenerator.Run(["--dir", _dir, "--ip", "not-an-ip"], TextWriter.Null)).Message, StringComparison.Ordinal);
    }
}
