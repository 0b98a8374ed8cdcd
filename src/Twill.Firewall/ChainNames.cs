using System.Text;
using Twill.Firewall.Iptables;

namespace Twill.Firewall;

/// <summary>
/// Per-container chain names as the reference CNI plugins derive them, so either implementation
/// finds (and removes) the other's chains: <c>"CNI-" + prefix + hex(sha512(network + containerId))</c>
/// cut to 28 characters (iptables allows 28 + NUL).
/// </summary>
public static class ChainNames
{
    public const int MaxLength = 28;
    private const string Prefix = "CNI-";

    /// <summary>Bridge ipMasq's chain: <c>CNI-</c> + 24 hex digits.</summary>
    public static string Masquerade(string network, string containerId) => WithPrefix(network, containerId, "");

    /// <summary>Portmap's per-container DNAT chain: <c>CNI-DN-</c> + 21 hex digits.</summary>
    public static string PortmapDnat(string network, string containerId) => WithPrefix(network, containerId, "DN-");

    /// <summary>The SNAT chain of portmap versions before 0.7; only ever deleted.</summary>
    public static string PortmapOldSnat(string network, string containerId) => WithPrefix(network, containerId, "SN-");

    public static string WithPrefix(string network, string containerId, string prefix)
    {
        string head = Prefix + prefix;
        if (head.Length >= MaxLength)
        {
            throw new ArgumentException($"chain prefix {prefix} leaves no room for the hash", nameof(prefix));
        }
        // Managed SHA-512: System.Security.Cryptography would load OpenSSL into every plugin process.
        byte[] hash = Sha512.HashData(Encoding.UTF8.GetBytes(network + containerId));
        return (head + Convert.ToHexStringLower(hash))[..MaxLength];
    }

    /// <summary>Bridge ipMasq's comment, Go's <c>fmt.Sprintf("name: %q id: %q")</c>.</summary>
    public static string MasqueradeComment(string network, string containerId) =>
        $"name: {GoQuote(network)} id: {GoQuote(containerId)}";

    /// <summary>
    /// Go's %q for the strings CNI allows in names and IDs (printable ASCII); other characters are
    /// escaped the way Go does for the common cases.
    /// </summary>
    internal static string GoQuote(string s)
    {
        StringBuilder sb = new(s.Length + 2);
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c < 0x20 || c == 0x7f)
                    {
                        sb.Append("\\x").Append(((int)c).ToString("x2"));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
