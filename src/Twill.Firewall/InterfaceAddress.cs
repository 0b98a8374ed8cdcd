using System.Globalization;
using System.Net;

namespace Twill.Firewall;

/// <summary>
/// An address with its prefix length as an interface holds it (<c>10.244.1.5/24</c>); unlike
/// <see cref="IPNetwork"/> the host bits are kept, because rules need both the address and its subnet.
/// </summary>
public readonly record struct InterfaceAddress(IPAddress Address, int PrefixLength)
{
    public IpFamily Family => IpFamilyExtensions.FamilyOf(Address);

    /// <summary>The subnet the address belongs to (host bits cleared).</summary>
    public IPNetwork Network => Iptables.IptablesText.NetworkOf(Address, PrefixLength);

    /// <summary>Parses <c>ADDRESS/LEN</c>; a bare address gets the full-length prefix.</summary>
    public static InterfaceAddress Parse(string text)
    {
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addr = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addr, out IPAddress? ip))
        {
            throw new FormatException($"address {text}: not an IP address");
        }
        int max = IpFamilyExtensions.FamilyOf(ip).HostBits();
        int len = max;
        if (slash >= 0 && (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out len) || len > max))
        {
            throw new FormatException($"address {text}: prefix length must be 0..{max}");
        }
        return new InterfaceAddress(ip, len);
    }

    public override string ToString() => $"{Address}/{PrefixLength}";
}
