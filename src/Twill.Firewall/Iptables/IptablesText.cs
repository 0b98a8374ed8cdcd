using System.Net;
using System.Text;

namespace Twill.Firewall.Iptables;

/// <summary>
/// Rule text in the canonical form <c>iptables-save</c> prints, so a rendered rule can be compared
/// with a dump by plain string equality and fed to <c>iptables-restore</c> unchanged.
/// </summary>
public static class IptablesText
{
    private const string NoQuoteChars = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    /// <summary>A string argument as iptables-save writes it: bare when it is a plain word, else quoted with \" \\ \' escaped.</summary>
    public static string Quote(string value)
    {
        if (value.Length > 0 && value.All(c => NoQuoteChars.Contains(c, StringComparison.Ordinal)))
        {
            return value;
        }
        StringBuilder sb = new(value.Length + 2);
        sb.Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\' or '\'')
            {
                sb.Append('\\');
            }
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    /// <summary><c>-m comment --comment TEXT</c>.</summary>
    public static string Comment(string text) => "-m comment --comment " + Quote(text);

    /// <summary>A prefix as iptables-save prints it: host bits cleared, length always shown.</summary>
    public static string Prefix(IPNetwork network) => $"{network.BaseAddress}/{network.PrefixLength}";

    /// <summary>An address with its full-length prefix (<c>/32</c> or <c>/128</c>).</summary>
    public static string Host(IPAddress address) =>
        $"{address}/{IpFamilyExtensions.FamilyOf(address).HostBits()}";

    /// <summary>The network an interface address (address/len) belongs to.</summary>
    public static IPNetwork NetworkOf(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xff << (8 - keep));
        }
        return new IPNetwork(new IPAddress(bytes), prefixLength);
    }

    /// <summary><c>ip:port</c>, IPv6 in brackets, as DNAT's --to-destination takes it.</summary>
    public static string HostPort(IPAddress address, int port) =>
        IpFamilyExtensions.FamilyOf(address) == IpFamily.V6 ? $"[{address}]:{port}" : $"{address}:{port}";

    /// <summary>Whether the saved rule ends by jumping (or going) to <paramref name="target"/>.</summary>
    public static bool JumpsTo(string spec, string target) =>
        spec.EndsWith(" -j " + target, StringComparison.Ordinal)
        || spec.EndsWith(" -g " + target, StringComparison.Ordinal)
        || spec.Contains(" -j " + target + " ", StringComparison.Ordinal)
        || spec.StartsWith("-j " + target, StringComparison.Ordinal);
}
