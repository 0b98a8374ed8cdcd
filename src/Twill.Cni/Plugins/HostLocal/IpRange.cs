using System.Net;
using System.Net.Sockets;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Plugins.HostLocal;

/// <summary>
/// One allocatable range, canonicalised as the reference does: the gateway defaults to the first
/// address (.1), the start to .1 too (the iterator skips the gateway), the end to the last address
/// before the IPv4 broadcast (or the last IPv6 address).
/// </summary>
public sealed record IpRange(IPNetwork Subnet, IPAddress RangeStart, IPAddress RangeEnd, IPAddress Gateway)
{
    public static IpRange Canonicalize(RangeConfig c)
    {
        if (!InterfaceAddress.TryParse(c.Subnet, out InterfaceAddress subnet))
        {
            throw new FormatException($"subnet \"{c.Subnet}\" is not a CIDR (e.g. 10.244.3.0/24)");
        }
        int bits = subnet.Address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (subnet.PrefixLength > bits - 2)
        {
            throw new FormatException($"Network {subnet} too small to allocate from");
        }
        IPNetwork net = subnet.Network;
        if (!net.BaseAddress.Equals(subnet.Address))
        {
            throw new FormatException($"Network has host bits set. For a subnet mask of length {subnet.PrefixLength} the network address is {net.BaseAddress}");
        }
        IPAddress first = Cidrs.Add(net.BaseAddress, 1);
        IPAddress gateway = c.Gateway is null ? first : ParseIp(c.Gateway, "gateway");
        IPAddress start = first;
        if (c.RangeStart is not null)
        {
            start = ParseIp(c.RangeStart, "rangeStart");
            if (!net.Contains(start))
            {
                throw new FormatException($"RangeStart {start} not in network {net}");
            }
        }
        IPAddress last = Cidrs.Last(net);
        IPAddress end = bits == 32 ? Cidrs.Add(last, -1) : last;
        if (c.RangeEnd is not null)
        {
            end = ParseIp(c.RangeEnd, "rangeEnd");
            if (!net.Contains(end))
            {
                throw new FormatException($"RangeEnd {end} not in network {net}");
            }
        }
        return new IpRange(net, start, end, gateway);
    }

    private static IPAddress ParseIp(string s, string field) =>
        IPAddress.TryParse(s, out IPAddress? a) ? a : throw new FormatException($"{field} \"{s}\" is not an IP address");

    public AddressFamily Family => Subnet.BaseAddress.AddressFamily;

    /// <summary>In the subnet and between start and end, inclusive.</summary>
    public bool Contains(IPAddress a) =>
        a.AddressFamily == Family && Subnet.Contains(a) && Cidrs.Compare(a, RangeStart) >= 0 && Cidrs.Compare(a, RangeEnd) <= 0;

    public bool Overlaps(IpRange o) =>
        Family == o.Family && (Contains(o.RangeStart) || Contains(o.RangeEnd) || o.Contains(RangeStart) || o.Contains(RangeEnd));

    public override string ToString() => $"{RangeStart}-{RangeEnd}";
}

/// <summary>Ranges of one family that one address is allocated from (the config's inner array).</summary>
public sealed class RangeSet(List<IpRange> ranges)
{
    public List<IpRange> Ranges { get; } = ranges;

    public bool Contains(IPAddress a) => Ranges.Any(r => r.Contains(a));

    public IpRange? RangeFor(IPAddress a) => Ranges.FirstOrDefault(r => r.Contains(a));

    public bool Overlaps(RangeSet o) => Ranges.Any(r => o.Ranges.Any(r.Overlaps));

    public override string ToString() => string.Join(',', Ranges);
}
