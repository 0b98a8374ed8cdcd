using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Twill.Leases;

namespace Twill.Cli;

/// <summary>The switch dialects <c>twill tor routes --format</c> prints.</summary>
internal enum TorRouteFormat
{
    /// <summary>iproute2 batch lines (<c>route replace …</c>), for <c>ip -batch -</c> on a Linux router.</summary>
    Linux,
    Frr,
    Eos,
    Nxos,
    Ios,
    Junos,
}

/// <summary>One static route the ToR needs: a node's pod subnet via the node's public IP.</summary>
internal sealed record TorRoute(IPNetwork Subnet, IPAddress NextHop)
{
    /// <summary>Every route a lease asks for: its IPv4 subnet via PublicIP, its IPv6 subnet via PublicIPv6 (Windows nodes' leases alike).</summary>
    public static IEnumerable<TorRoute> Of(Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (lease.Subnets.IPv4 is IPNetwork v4 && lease.Attrs.PublicIP is IPAddress ip && !ip.Equals(IPAddress.Any))
        {
            yield return new TorRoute(v4, ip);
        }
        if (lease.Subnets.IPv6 is IPNetwork v6 && lease.Attrs.PublicIPv6 is IPAddress ip6)
        {
            yield return new TorRoute(v6, ip6);
        }
    }
}

/// <summary>
/// The static routes of the L3 top-of-rack topology in a switch's own configuration language, as an
/// operator pastes them (pure: routes in, lines out). Adds print the route; removals print the
/// dialect's negation (<c>no ip route …</c>, <c>delete …</c>, <c>route del …</c>), which is what
/// <c>--watch</c> prints as nodes go. Each line stands alone in the dialect's configuration mode, so a
/// watch's output can be fed to the switch line by line (docs/tor.md).
/// </summary>
internal static class TorRouteRenderer
{
    public static TorRouteFormat ParseFormat(string text) => text.ToLowerInvariant() switch
    {
        "linux" => TorRouteFormat.Linux,
        "frr" => TorRouteFormat.Frr,
        "eos" => TorRouteFormat.Eos,
        "nxos" => TorRouteFormat.Nxos,
        "ios" => TorRouteFormat.Ios,
        "junos" => TorRouteFormat.Junos,
        _ => throw new FormatException($"--format '{text}' is not one of linux, frr, eos, nxos, ios, junos"),
    };

    /// <summary>The lines adding <paramref name="routes"/>, sorted by subnet so the output is stable.</summary>
    public static IReadOnlyList<string> Add(TorRouteFormat format, IEnumerable<TorRoute> routes) =>
        [.. Sorted(routes).Select(r => Line(format, r, add: true))];

    /// <summary>The lines removing <paramref name="routes"/>.</summary>
    public static IReadOnlyList<string> Remove(TorRouteFormat format, IEnumerable<TorRoute> routes) =>
        [.. Sorted(routes).Select(r => Line(format, r, add: false))];

    private static IEnumerable<TorRoute> Sorted(IEnumerable<TorRoute> routes) => routes
        .OrderBy(r => r.Subnet.BaseAddress.AddressFamily)
        .ThenBy(r => r.Subnet.BaseAddress.GetAddressBytes(), ByteOrder.Instance)
        .ThenBy(r => r.Subnet.PrefixLength);

    public static string Line(TorRouteFormat format, TorRoute route, bool add)
    {
        ArgumentNullException.ThrowIfNull(route);
        bool v6 = route.Subnet.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;
        string subnet = route.Subnet.ToString();
        string via = route.NextHop.ToString();
        string no = add ? "" : "no ";
        return format switch
        {
            // `ip -batch` lines take no leading "ip" and no -6 (the family follows the prefix); replace
            // and del both name the next hop so a replayed line is harmless with `ip -force -batch`.
            TorRouteFormat.Linux => $"route {(add ? "replace" : "del")} {subnet} via {via} proto static",
            // FRR, EOS and NX-OS share the Cisco-like prefix-length form.
            TorRouteFormat.Frr or TorRouteFormat.Eos or TorRouteFormat.Nxos => $"{no}{(v6 ? "ipv6" : "ip")} route {subnet} {via}",
            // Classic IOS wants an IPv4 mask in dotted form.
            TorRouteFormat.Ios => v6
                ? $"{no}ipv6 route {subnet} {via}"
                : $"{no}ip route {route.Subnet.BaseAddress} {Mask(route.Subnet.PrefixLength)} {via}",
            // Deleting the whole route, not just its next hop: a static route left without one fails the commit.
            TorRouteFormat.Junos => add
                ? $"set routing-options {(v6 ? "rib inet6.0 " : "")}static route {subnet} next-hop {via}"
                : $"delete routing-options {(v6 ? "rib inet6.0 " : "")}static route {subnet}",
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown format"),
        };
    }

    private static string Mask(int prefixLength)
    {
        uint mask = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
        return string.Create(CultureInfo.InvariantCulture, $"{mask >> 24}.{(mask >> 16) & 255}.{(mask >> 8) & 255}.{mask & 255}");
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y)
        {
            ArgumentNullException.ThrowIfNull(x);
            ArgumentNullException.ThrowIfNull(y);
            for (int i = 0; i < Math.Min(x.Length, y.Length); i++)
            {
                int c = x[i].CompareTo(y[i]);
                if (c != 0)
                {
                    return c;
                }
            }
            return x.Length.CompareTo(y.Length);
        }
    }
}
