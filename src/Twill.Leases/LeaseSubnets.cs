using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Twill.Core;

namespace Twill.Leases;

/// <summary>
/// The subnet(s) a lease holds, and Flannel's key for them: <c>10.244.3.0-24</c>, dual-stack
/// <c>10.244.4.0-24&amp;fd00:10:244:4::-64</c>. Flannel's key always starts with the IPv4 part; an
/// IPv6-only lease is keyed <c>0.0.0.0-0&amp;...</c> as Flannel's empty IPv4 subnet prints.
/// </summary>
public readonly record struct LeaseSubnets
{
    public LeaseSubnets(IPNetwork? ipv4, IPNetwork? ipv6 = null)
    {
        if (ipv4 is null && ipv6 is null)
        {
            throw new ArgumentException("a lease holds an IPv4 subnet, an IPv6 subnet or both");
        }
        if (ipv4 is IPNetwork v4 && v4.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"{v4} is not an IPv4 subnet", nameof(ipv4));
        }
        if (ipv6 is IPNetwork v6 && v6.BaseAddress.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"{v6} is not an IPv6 subnet", nameof(ipv6));
        }
        IPv4 = ipv4;
        IPv6 = ipv6;
    }

    public IPNetwork? IPv4 { get; }

    public IPNetwork? IPv6 { get; }

    /// <summary>The subnets a previous run wrote to subnet.env (FLANNEL_SUBNET is the subnet's first address), or null when it holds none.</summary>
    public static LeaseSubnets? FromSubnetEnv(Twill.Core.SubnetEnv env)
    {
        ArgumentNullException.ThrowIfNull(env);
        IPNetwork? v4 = env.Subnet?.Network;
        IPNetwork? v6 = env.IPv6Subnet?.Network;
        return v4 is null && v6 is null ? null : new LeaseSubnets(v4, v6);
    }

    /// <summary>Flannel's key (the part after <c>&lt;prefix&gt;/subnets/</c>).</summary>
    public string ToKey()
    {
        StringBuilder sb = new();
        if (IPv4 is IPNetwork v4)
        {
            Append(sb, v4);
        }
        else
        {
            sb.Append("0.0.0.0-0");
        }
        if (IPv6 is IPNetwork v6)
        {
            sb.Append('&');
            Append(sb, v6);
        }
        return sb.ToString();
    }

    public override string ToString() =>
        (IPv4, IPv6) switch
        {
            (IPNetwork v4, IPNetwork v6) => $"{v4} + {v6}",
            (IPNetwork v4, null) => v4.ToString(),
            (null, IPNetwork v6) => v6.ToString(),
            _ => "(none)",
        };

    public static LeaseSubnets ParseKey(string key) =>
        TryParseKey(key, out LeaseSubnets subnets, out string? error)
            ? subnets
            : throw new FormatException($"lease key '{key}' {error}");

    /// <summary>
    /// Parses a key strictly: exact Flannel form, addresses without host bits (a hostile key such as
    /// <c>10.244.3.7-24</c> is rejected rather than read as 10.244.3.0/24).
    /// </summary>
    public static bool TryParseKey([NotNullWhen(true)] string? key, out LeaseSubnets subnets, [NotNullWhen(false)] out string? error)
    {
        subnets = default;
        if (string.IsNullOrEmpty(key))
        {
            error = "is empty";
            return false;
        }
        int amp = key.IndexOf('&', StringComparison.Ordinal);
        string v4Part = amp < 0 ? key : key[..amp];
        string? v6Part = amp < 0 ? null : key[(amp + 1)..];
        if (!TryParsePart(v4Part, AddressFamily.InterNetwork, out IPNetwork v4, out error))
        {
            return false;
        }
        IPNetwork? ipv4 = v4.PrefixLength == 0 && v4.BaseAddress.Equals(IPAddress.Any) ? null : v4;
        IPNetwork? ipv6 = null;
        if (v6Part is not null)
        {
            if (!TryParsePart(v6Part, AddressFamily.InterNetworkV6, out IPNetwork v6, out error))
            {
                return false;
            }
            ipv6 = v6;
        }
        if (ipv4 is null && ipv6 is null)
        {
            error = "holds no subnet";
            return false;
        }
        subnets = new LeaseSubnets(ipv4, ipv6);
        // Only the canonical spelling is a key: two spellings of one subnet would be two records.
        if (subnets.ToKey() != key)
        {
            error = $"is not in canonical form (expected '{subnets.ToKey()}')";
            subnets = default;
            return false;
        }
        error = null;
        return true;
    }

    private static bool TryParsePart(string part, AddressFamily family, out IPNetwork network, [NotNullWhen(false)] out string? error)
    {
        PrefixTextError problem = SubnetMath.TryReadPrefix(part, '-', out network);
        if (problem is not (PrefixTextError.None or PrefixTextError.HostBits) || network.BaseAddress.AddressFamily != family)
        {
            string example = family == AddressFamily.InterNetwork ? "10.244.3.0-24" : "fd00:10:244:3::-64";
            error = $"has no valid {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} part '{part}' (expected e.g. {example})";
            return false;
        }
        if (problem == PrefixTextError.HostBits)
        {
            error = $"has host bits set in '{part}'";
            return false;
        }
        error = null;
        return true;
    }

    private static void Append(StringBuilder sb, IPNetwork network) =>
        sb.Append(network.BaseAddress.ToString()).Append('-').Append(network.PrefixLength.ToString(CultureInfo.InvariantCulture));
}
