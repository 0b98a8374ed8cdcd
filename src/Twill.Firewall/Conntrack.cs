using System.Globalization;
using Twill.Firewall.Portmap;

namespace Twill.Firewall;

/// <summary>Connection-tracking cleanup through the <c>conntrack</c> tool.</summary>
public static class Conntrack
{
    /// <summary>
    /// Deletes the family's UDP conntrack entries whose original destination port is one of the
    /// UDP host ports, so a client that kept sending before the mapping existed is not stuck on a
    /// stale entry. Returns warnings instead of throwing: the reference treats this as best effort.
    /// </summary>
    public static IReadOnlyList<string> DeleteUdpByDestinationPort(IFirewallRunner runner, IpFamily family, IEnumerable<PortMapping> mappings)
    {
        List<string> warnings = [];
        foreach (int port in mappings.Where(m => m.Protocol.Equals("udp", StringComparison.OrdinalIgnoreCase))
                     .Select(m => m.HostPort).Distinct())
        {
            ToolOutput r;
            try
            {
                r = runner.Run("conntrack", ["-D", "-f", family.ConntrackFamily(), "-p", "udp", "--orig-port-dst", port.ToString(CultureInfo.InvariantCulture)]);
            }
            catch (FirewallException e)
            {
                warnings.Add(e.Message);
                break;
            }
            // Exit 1 with "0 flow entries have been deleted" just means there was nothing stale.
            if (r.ExitCode != 0 && !r.Stderr.Contains("0 flow entries", StringComparison.Ordinal))
            {
                warnings.Add($"failed to delete stale UDP conntrack entries for port {port} ({family}): {r.Stderr.Trim()}");
            }
        }
        return warnings;
    }
}
