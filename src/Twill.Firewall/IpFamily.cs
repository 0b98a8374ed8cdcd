using System.Net;
using System.Net.Sockets;

namespace Twill.Firewall;

/// <summary>An address family; iptables and ip6tables keep separate tables, so every rule belongs to one.</summary>
public enum IpFamily
{
    /// <summary>IPv4: iptables, nft family <c>ip</c>.</summary>
    V4,

    /// <summary>IPv6: ip6tables, nft family <c>ip6</c>.</summary>
    V6,
}

public static class IpFamilyExtensions
{
    public static IpFamily FamilyOf(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 && !address.IsIPv4MappedToIPv6 ? IpFamily.V6 : IpFamily.V4;

    /// <summary>The save tool of the family (<c>iptables-save</c> / <c>ip6tables-save</c>).</summary>
    public static string SaveTool(this IpFamily family) => family == IpFamily.V4 ? "iptables-save" : "ip6tables-save";

    /// <summary>The restore tool of the family (<c>iptables-restore</c> / <c>ip6tables-restore</c>).</summary>
    public static string RestoreTool(this IpFamily family) => family == IpFamily.V4 ? "iptables-restore" : "ip6tables-restore";

    /// <summary>The nft address keyword and table family: <c>ip</c> or <c>ip6</c>.</summary>
    public static string NftFamily(this IpFamily family) => family == IpFamily.V4 ? "ip" : "ip6";

    /// <summary>The prefix that matches every address of the family (iptables omits it when saving).</summary>
    public static string AnyPrefix(this IpFamily family) => family == IpFamily.V4 ? "0.0.0.0/0" : "::/0";

    /// <summary>Full host prefix length: /32 or /128, as iptables-save prints a single address.</summary>
    public static int HostBits(this IpFamily family) => family == IpFamily.V4 ? 32 : 128;

    /// <summary>The multicast range that masquerade rules leave alone.</summary>
    public static string Multicast(this IpFamily family) => family == IpFamily.V4 ? "224.0.0.0/4" : "ff00::/8";

    /// <summary><c>conntrack -f</c> value.</summary>
    public static string ConntrackFamily(this IpFamily family) => family == IpFamily.V4 ? "ipv4" : "ipv6";
}
