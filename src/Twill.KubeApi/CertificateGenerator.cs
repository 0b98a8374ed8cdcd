using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Twill.KubeApi;

/// <summary>
/// <c>gen-certs</c>: a fresh CA and a serving certificate it signs, for the given IPs and DNS names plus
/// the in-cluster names (kubernetes, kubernetes.default, ….svc.cluster.local) and loopback, so in-cluster
/// clients (ca.crt of a service account) and kubectl (certificate-authority) can verify the server.
/// </summary>
internal static class CertificateGenerator
{
    public static readonly string[] ClusterNames = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"];

    public static int Run(IReadOnlyList<string> args, TextWriter stdout)
    {
        string? dir = null;
        List<IPAddress> ips = [IPAddress.Loopback];
        List<string> names = [.. ClusterNames];
        int days = 365;
        foreach ((string name, string value) in Flags.Parse(args))
        {
            switch (name)
            {
                case "dir":
                    dir = value;
                    break;
                case "ip":
                    foreach (string ip in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        ips.Add(Flags.Address(name, ip));
                    }
                    break;
                case "dns":
                    names.AddRange(value.Split(',', StringSplitOptions.RemoveEmptyEntries));
                    break;
                case "days":
                    days = Flags.Int(name, value, 1, 36500);
                    break;
                default:
                    throw new UsageException($"gen-certs: unknown flag: --{name}");
            }
        }
        if (dir is null)
        {
            throw new UsageException("gen-certs: --dir is required");
        }
        Generate(dir, ips, names, days);
        stdout.WriteLine($"gen-certs: wrote {Path.Combine(dir, "ca.crt")}, ca.key, apiserver.crt, apiserver.key (SANs: {string.Join(", ", ips.Distinct())}, {string.Join(", ", names.Distinct())})");
        return 0;
    }

    public static void Generate(string dir, IEnumerable<IPAddress> ips, IEnumerable<string> dnsNames, int days)
    {
        Directory.CreateDirectory(dir);
        DateTimeOffset notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        DateTimeOffset notAfter = notBefore.AddDays(days);

        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificateRequest caRequest = new("CN=twill-kube-apiserver-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        X509SubjectKeyIdentifierExtension caSki = new(caRequest.PublicKey, false);
        caRequest.CertificateExtensions.Add(caSki);
        using X509Certificate2 ca = caRequest.CreateSelfSigned(notBefore, notAfter);

        using ECDsa serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificateRequest serverRequest = new("CN=kube-apiserver", serverKey, HashAlgorithmName.SHA256);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(caSki));
        SubjectAlternativeNameBuilder san = new();
        foreach (IPAddress ip in ips.Distinct())
        {
            san.AddIpAddress(ip);
        }
        foreach (string name in dnsNames.Distinct(StringComparer.Ordinal))
        {
            san.AddDnsName(name);
        }
        serverRequest.CertificateExtensions.Add(san.Build());
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using X509Certificate2 server = serverRequest.Create(ca, notBefore, notAfter, serial);

        Write(Path.Combine(dir, "ca.crt"), ca.ExportCertificatePem() + "\n", secret: false);
        Write(Path.Combine(dir, "ca.key"), caKey.ExportPkcs8PrivateKeyPem() + "\n", secret: true);
        Write(Path.Combine(dir, "apiserver.crt"), server.ExportCertificatePem() + "\n", secret: false);
        Write(Path.Combine(dir, "apiserver.key"), serverKey.ExportPkcs8PrivateKeyPem() + "\n", secret: true);
    }

    private static void Write(string path, string text, bool secret)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        File.Move(temp, path, overwrite: true);
    }
}
