using System.Text.RegularExpressions;

namespace Twill.Leases.Kube;

/// <summary>
/// The names of Flannel's node annotations under one prefix (<c>--kube-annotation-prefix</c>, default
/// <c>flannel.alpha.coreos.com</c>). The prefix is normalised as Flannel does: without a slash one is
/// appended (<c>example.com</c> → <c>example.com/</c>); with one, a dash is appended unless it already
/// ends in '/' or '-' (<c>example.com/net</c> → <c>example.com/net-</c>).
/// </summary>
public sealed partial record KubeAnnotations
{
    public const string DefaultPrefix = "flannel.alpha.coreos.com";

    private KubeAnnotations(string normalised) => Prefix = normalised;

    /// <summary>The normalised prefix every name starts with (<c>flannel.alpha.coreos.com/</c>).</summary>
    public string Prefix { get; }

    public string KubeSubnetManager => Prefix + "kube-subnet-manager";

    public string BackendData => Prefix + "backend-data";

    public string BackendV6Data => Prefix + "backend-v6-data";

    public string BackendType => Prefix + "backend-type";

    public string PublicIP => Prefix + "public-ip";

    public string PublicIPv6 => Prefix + "public-ipv6";

    /// <summary>Set by an administrator: the address this node uses as its public IP (Flannel reads it at start, over --public-ip).</summary>
    public string NodePublicIP => Prefix + "node-public-ip";

    public string NodePublicIPv6 => Prefix + "node-public-ipv6";

    /// <summary>Set by an administrator: the address published as public-ip instead of the detected one.</summary>
    public string PublicIPOverwrite => Prefix + "public-ip-overwrite";

    public string PublicIPv6Overwrite => Prefix + "public-ipv6-overwrite";

    public static KubeAnnotations Default { get; } = Create(DefaultPrefix);

    /// <summary>The names for <paramref name="prefix"/>; a prefix Kubernetes would not accept is an <see cref="ArgumentException"/> naming it.</summary>
    public static KubeAnnotations Create(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        int slashes = prefix.Count(c => c == '/');
        if (slashes > 1)
        {
            throw new ArgumentException($"--kube-annotation-prefix '{prefix}' contains more than one '/'", nameof(prefix));
        }
        string p = slashes == 0 ? prefix + "/" : prefix;
        if (!p.EndsWith('/') && !p.EndsWith('-'))
        {
            p += "-";
        }
        if (!PrefixForm().IsMatch(p))
        {
            throw new ArgumentException(
                $"--kube-annotation-prefix '{prefix}' is not of the form fqdn[/name]: lower-case letters, digits, '-', '_' and '.', a domain with at least one dot", nameof(prefix));
        }
        return new KubeAnnotations(p);
    }

    // Flannel's rule: an FQDN, one slash, then an optional name ending in '-'.
    [GeneratedRegex("^(?:[a-z0-9_-]+\\.)+[a-z0-9_-]+/(?:[a-z0-9_-]+-)?$", RegexOptions.CultureInvariant)]
    private static partial Regex PrefixForm();
}
