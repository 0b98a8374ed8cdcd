using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Twill.Backends;
using Twill.Netlink;

namespace Twill.Agent;

/// <summary>
/// Picks the underlay interface and this node's public IP as flanneld does: the first <c>--iface</c>
/// that exists (by name or by IP), else the first interface matching an <c>--iface-regex</c> (IP
/// first, then name), else the interface of the default route (lowest metric). Its first global
/// IPv4 address is the VXLAN source; <c>--public-ip</c> overrides what peers are told.
/// </summary>
public static class UnderlaySelector
{
    public static (Underlay Underlay, IPAddress PublicIP) Select(RtnlConnection rtnl, AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(rtnl);
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<Link> links = rtnl.DumpLinks();
        IReadOnlyList<IfAddress> addresses = rtnl.DumpAddresses(AddressFamily.InterNetwork);
        (Link Link, IfAddress Address)? chosen = null;

        foreach (string iface in options.Ifaces)
        {
            chosen = IPAddress.TryParse(iface, out IPAddress? ip)
                ? Find(links, addresses, a => a.Address.Equals(ip), _ => true)
                : Find(links, addresses, _ => true, l => l.Name == iface);
            if (chosen is not null)
            {
                break;
            }
        }
        if (chosen is null && options.Ifaces.Count > 0)
        {
            throw new InvalidOperationException($"--iface: none of {string.Join(", ", options.Ifaces)} is an interface with an IPv4 address here");
        }
        foreach (string pattern in options.IfaceRegexes)
        {
            if (chosen is not null)
            {
                break;
            }
            Regex regex = new(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            chosen = Find(links, addresses, a => regex.IsMatch(a.Address.ToString()), _ => true)
                ?? Find(links, addresses, _ => true, l => regex.IsMatch(l.Name));
        }
        if (chosen is null && options.IfaceRegexes.Count > 0)
        {
            throw new InvalidOperationException($"--iface-regex: no interface or IPv4 address matches {string.Join(", ", options.IfaceRegexes)}");
        }
        if (chosen is null)
        {
            Route? defaultRoute = rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main)
                .Where(r => r.Destination.PrefixLength == 0 && r.OutputIndex is not null)
                .OrderBy(r => r.Metric ?? 0)
                .FirstOrDefault()
                ?? throw new InvalidOperationException("no default route to pick the underlay interface from; pass --iface");
            chosen = Find(links, addresses, _ => true, l => l.Index == defaultRoute.OutputIndex)
                ?? throw new InvalidOperationException($"the default route's interface (index {defaultRoute.OutputIndex}) has no IPv4 address; pass --iface");
        }
        (Link link, IfAddress address) = chosen.Value;
        Underlay underlay = new(link.Index, link.Name, link.Mtu, address.Address, new IPNetwork(Mask(address.Address, address.PrefixLength), address.PrefixLength));
        return (underlay, options.PublicIP ?? address.Address);
    }

    private static (Link, IfAddress)? Find(IReadOnlyList<Link> links, IReadOnlyList<IfAddress> addresses, Func<IfAddress, bool> address, Func<Link, bool> link)
    {
        foreach (Link l in links.Where(link))
        {
            IfAddress? a = addresses.FirstOrDefault(a => a.Index == l.Index && a.Scope == RouteScope.Universe && address(a));
            if (a is not null)
            {
                return (l, a);
            }
        }
        return null;
    }

    private static IPAddress Mask(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int bits = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bits));
        }
        return new IPAddress(bytes);
    }
}
