using System.Globalization;
using System.Net;

namespace Twill.Cli.Doctor;

/// <summary>
/// The kernel's text tables the doctor reads, parsed (pure): /proc/modules, modules.builtin and
/// /proc/net/udp(6). Reading them is <see cref="NodeProbe"/>'s job.
/// </summary>
public static class KernelTables
{
    /// <summary>The module names of /proc/modules (<c>br_netfilter 32768 0 - Live 0x0</c>: the first column).</summary>
    public static IEnumerable<string> ParseModules(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ', 2)[0]);

    /// <summary>The module names of modules.builtin (<c>kernel/net/bridge/br_netfilter.ko</c>); '-' and '_' are one to the kernel.</summary>
    public static IEnumerable<string> ParseBuiltin(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => Path.GetFileName(l))
            .Where(n => n.EndsWith(".ko", StringComparison.Ordinal))
            .Select(n => n[..^3].Replace('-', '_'));

    /// <summary>
    /// The bound sockets of /proc/net/udp or /proc/net/udp6 on <paramref name="port"/>: local address
    /// (hex, as the kernel stores it: IPv4 one little-endian word, IPv6 four), port (hex), inode.
    /// </summary>
    public static IEnumerable<(IPAddress Address, int Port, long Inode)> ParseUdp(string text, int port)
    {
        foreach (string line in text.Split('\n').Skip(1))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10)
            {
                continue;
            }
            string[] local = f[1].Split(':');
            if (local.Length != 2 || !int.TryParse(local[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int p) || p != port
                || !long.TryParse(f[9], NumberStyles.None, CultureInfo.InvariantCulture, out long inode))
            {
                continue;
            }
            yield return (HexAddress(local[0]), p, inode);
        }
    }

    private static IPAddress HexAddress(string hex)
    {
        byte[] bytes = Convert.FromHexString(hex);
        // Each 32-bit word is printed in host (little-endian) order.
        for (int i = 0; i + 4 <= bytes.Length; i += 4)
        {
            Array.Reverse(bytes, i, 4);
        }
        return new IPAddress(bytes);
    }
}
