using System.Globalization;
using System.Net.NetworkInformation;

namespace Twill.Core;

/// <summary>
/// MAC text as Flannel (Go's <c>net.HardwareAddr.String()</c>), <c>ip</c> and nft write it: lower-case
/// hex pairs joined by colons. The one formatter: leases, plans, logs and rules must spell a MAC alike.
/// </summary>
public static class MacFormat
{
    /// <summary>"aa:bb:cc:dd:ee:ff"; empty for an empty address.</summary>
    public static string ToColonString(this PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        ReadOnlySpan<byte> bytes = mac.GetAddressBytes();
        if (bytes.Length == 0)
        {
            return "";
        }
        return string.Create((bytes.Length * 3) - 1, mac, static (chars, m) =>
        {
            byte[] b = m.GetAddressBytes();
            for (int i = 0; i < b.Length; i++)
            {
                if (i > 0)
                {
                    chars[(i * 3) - 1] = ':';
                }
                b[i].TryFormat(chars[(i * 3)..], out _, "x2", CultureInfo.InvariantCulture);
            }
        });
    }
}
