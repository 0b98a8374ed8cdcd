using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Twill.Backends;
using Twill.Netlink;

namespace Twill.Agent;

/// <summary>
/// The underlay of each enabled family: the interface (one for both families, as Flannel requires),
/// its address of that family (the VXLAN source) and the public address peers are told.
/// </summary>
public sealed record UnderlayChoice
{
    /// <summary>The IPv4 underlay; null when IPv4 is disabled.</summary>
    public Underlay? V4 { get; init; }

    /// <summary>PublicIP of the lease: <c>--public-ip</c>, else the IPv4 underlay address.</summary>
    public IPAddress? PublicIP { get; init; }

    /// <summary>The IPv6 underlay (same interface); null when IPv6 is disabled.</summary>
    public Underlay? V6 { get; init; }

    /// <summary>PublicIPv6 of the lease: <c>--public-ipv6</c>, else the IPv6 underlay address.</summary>
    public IPAddress? PublicIPv6 { get; init; }

    /// <summary>The underlay of a family.</summary>
    public Underlay? For(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? V6 : V4;

    /// <summary>The public address of a family.</summary>
    public IPAddress? PublicFor(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? PublicIPv6 : PublicIP;
}

/// <summary>What the selector looks at in the node's namespace, so the choice itself is pure.</summary>
/// <param name="Links">Every link.</param>
/// <param name="Addresses">Every IPv4 and IPv6 address.</param>
/// <param name="Routes">The main table's IPv4 and IPv6 routes.</param>
public sealed record UnderlayFacts(IReadOnlyList<Link> Links, IReadOnlyList<IfAddress> Addresses, IReadOnlyList<Route> Routes)
{
    /// <summary>Reads the facts through rtnetlink.</summary>
    public static UnderlayFacts Read(RtnlConnection rtnl)
    {
        ArgumentNullException.ThrowIfNull(rtnl);
        return new UnderlayFacts(
            rtnl.DumpLinks(),
            [.. rtnl.DumpAddresses(AddressFamily.InterNetwork), .. rtnl.DumpAddresses(AddressFamily.InterNetworkV6)],
            [.. rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main), .. rtnl.DumpRoutes(AddressFamily.InterNetworkV6, RouteTable.Main)]);
    }
}

/// <summary>
/// Picks the underlay interface and this node's public IPs as flanneld does: the first <c>--iface</c>
/// that exists (by name, or by an IPv4 or IPv6 address it holds), else the first interface whose
/// addresses match an <c>--iface-regex</c> (for dual-stack: an address of each family), then the
/// first whose name matches, else the interface of the default route (lowest metric; dual-stack: the
/// IPv4 and IPv6 default routes must leave by the same interface). Its first global address of each
/// enabled family is that family's VXLAN source; <c>--public-ip</c> / <c>--public-ipv6</c> override
/// what peers are told.
/// </summary>
public static class UnderlaySelector
{
    /// <summary>The IPv4 underlay only (an IPv4 network).</summary>
    public static (Underlay Underlay, IPAddress PublicIP) Select(RtnlConnection rtnl, AgentOptions options)
    {
        UnderlayChoice choice = Select(rtnl, options, enableIPv4: true, enableIPv6: false);
        return (choice.V4!, choice.PublicIP!);
    }

    /// <summary>The underlay of every enabled family.</summary>
    public static UnderlayChoice Select(RtnlConnection rtnl, AgentOptions options, bool enableIPv4, bool enableIPv6) =>
        Choose(UnderlayFacts.Read(rtnl), options, enableIPv4, enableIPv6);

    /// <summary>The choice, from facts already read. Throws <see cref="InvalidOperationException"/> saying which flag to pass.</summary>
    public static UnderlayChoice Choose(UnderlayFacts facts, AgentOptions options, bool enableIPv4, bool enableIPv6)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(options);
        if (!enableIPv4 && !enableIPv6)
        {
            throw new ArgumentException("at least one of IPv4 and IPv6 must be enabled");
        }
        AddressFamily[] families = [.. Families(enableIPv4, enableIPv6)];
        string wanted = string.Join(" and ", families.Select(FamilyName));
        Dictionary<AddressFamily, IfAddress> pinned = [];
        Link? chosen = null;

        foreach (string iface in options.Ifaces)
        {
            if (IPAddress.TryParse(iface, out IPAddress? ip))
            {
                // An address names the interface holding it, and is that family's underlay address.
                IfAddress? held = Global(facts, ip.AddressFamily).FirstOrDefault(a => a.Address.Equals(ip));
                Link? link = held is null ? null : facts.Links.FirstOrDefault(l => l.Index == held.Index);
                if (link is not null && families.Contains(ip.AddressFamily) && HasAll(facts, link, families, held!))
                {
                    chosen = link;
                    pinned[ip.AddressFamily] = held!;
                    break;
                }
            }
            else if (facts.Links.FirstOrDefault(l => l.Name == iface) is Link link && HasAll(facts, link, families, null))
            {
                chosen = link;
                break;
            }
        }
        if (chosen is null && options.Ifaces.Count > 0)
        {
            throw new InvalidOperationException($"--iface: none of {string.Join(", ", options.Ifaces)} is an interface with an {wanted} address here");
        }

        foreach (string pattern in options.IfaceRegexes)
        {
            if (chosen is not null)
            {
                break;
            }
            Regex regex = new(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            foreach (Link link in facts.Links)
            {
                Dictionary<AddressFamily, IfAddress> matched = [];
                foreach (AddressFamily family in families)
                {
                    if (Global(facts, family).FirstOrDefault(a => a.Index == link.Index && regex.IsMatch(a.Address.ToString())) is IfAddress a)
                    {
                        matched[family] = a;
                    }
                }
                if (matched.Count == families.Length)
                {
                    chosen = link;
                    foreach ((AddressFamily f, IfAddress a) in matched)
                    {
                        pinned[f] = a;
                    }
                    break;
                }
            }
            chosen ??= facts.Links.FirstOrDefault(l => regex.IsMatch(l.Name) && HasAll(facts, l, families, null));
        }
        if (chosen is null && options.IfaceRegexes.Count > 0)
        {
            throw new InvalidOperationException($"--iface-regex: no interface or {wanted} address matches {string.Join(", ", options.IfaceRegexes)}");
        }

        if (chosen is null)
        {
            foreach (AddressFamily family in families)
            {
                Route? defaultRoute = facts.Routes
                    .Where(r => r.Destination.BaseAddress.AddressFamily == family && r.Destination.PrefixLength == 0 && r.OutputIndex is not null)
                    .OrderBy(r => r.Metric ?? 0)
                    .FirstOrDefault()
                    ?? throw new InvalidOperationException($"no {FamilyName(family)} default route to pick the underlay interface from; pass --iface");
                Link link = facts.Links.FirstOrDefault(l => l.Index == defaultRoute.OutputIndex)
                    ?? throw new InvalidOperationException($"the {FamilyName(family)} default route's interface (index {defaultRoute.OutputIndex}) does not exist; pass --iface");
                if (chosen is not null && chosen.Index != link.Index)
                {
                    throw new InvalidOperationException(
                        $"the IPv6 default route leaves by {link.Name} but the IPv4 one by {chosen.Name}; a dual-stack underlay is one interface (Flannel's rule too): pass --iface");
                }
                chosen = link;
            }
            if (!HasAll(facts, chosen!, families, null))
            {
                throw new InvalidOperationException($"the default route's interface {chosen!.Name} has no {wanted} address; pass --iface");
            }
        }

        Link underlayLink = chosen!;
        Underlay? v4 = null, v6 = null;
        foreach (AddressFamily family in families)
        {
            IfAddress address = pinned.TryGetValue(family, out IfAddress? p)
                ? p
                : Global(facts, family).First(a => a.Index == underlayLink.Index);
            Underlay underlay = new(underlayLink.Index, underlayLink.Name, underlayLink.Mtu, address.Address,
                new IPNetwork(Mask(address.Address, address.PrefixLength), address.PrefixLength));
            if (family == AddressFamily.InterNetwork)
            {
                v4 = underlay;
            }
            else
            {
                v6 = underlay;
            }
        }
        return new UnderlayChoice
        {
            V4 = v4,
            PublicIP = v4 is null ? null : options.PublicIP ?? v4.Address,
            V6 = v6,
            PublicIPv6 = v6 is null ? null : options.PublicIPv6 ?? v6.Address,
        };
    }

    private static IEnumerable<AddressFamily> Families(bool v4, bool v6)
    {
        if (v4)
        {
            yield return AddressFamily.InterNetwork;
        }
        if (v6)
        {
            yield return AddressFamily.InterNetworkV6;
        }
    }

    /// <summary>
    /// Global addresses of a family, in the kernel's order (Flannel takes the first): scope universe,
    /// never an IPv6 link-local one (it cannot carry VXLAN between nodes).
    /// </summary>
    private static IEnumerable<IfAddress> Global(UnderlayFacts facts, AddressFamily family) =>
        facts.Addresses.Where(a => a.Address.AddressFamily == family
            && a.Scope == RouteScope.Universe
            && !a.Address.IsIPv6LinkLocal);

    /// <summary>True when the link has a global address of every family (<paramref name="held"/> counts for its own).</summary>
    private static bool HasAll(UnderlayFacts facts, Link link, AddressFamily[] families, IfAddress? held) =>
        families.All(f => (held is not null && held.Address.AddressFamily == f) || Global(facts, f).Any(a => a.Index == link.Index));

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

    /// <summary>"IPv4" or "IPv6", for messages.</summary>
    private static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";
}
