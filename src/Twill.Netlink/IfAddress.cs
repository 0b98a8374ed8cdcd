using System.Net;

namespace Twill.Netlink;

/// <summary>An address on an interface (`ip addr`): the address with its host bits and the prefix length.</summary>
public sealed record IfAddress(int Index, IPAddress Address, int PrefixLength)
{
    /// <summary>Scope (universe for global addresses, host for loopback, link for fe80::/10).</summary>
    public RouteScope Scope { get; init; }

    /// <summary>IFA_F_* flags (permanent, nodad, tentative...).</summary>
    public AddressFlags Flags { get; init; }

    /// <summary>IFA_BROADCAST (IPv4 only), the `brd` of `ip addr`; null for none.</summary>
    public IPAddress? Broadcast { get; init; }

    /// <summary>IFA_LABEL (IPv4 only), usually the interface name.</summary>
    public string? Label { get; init; }

    /// <summary>Address with prefix and device, e.g. "10.244.1.1/24 dev 3".</summary>
    public override string ToString() => $"{Address}/{PrefixLength} dev {Index}";
}

/// <summary>IFA_F_* address flags (linux/if_addr.h).</summary>
[Flags]
public enum AddressFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>Temporary (privacy) address.</summary>
    Secondary = 0x01,
    /// <summary>Skip duplicate address detection (IPv6 `nodad`).</summary>
    NoDad = 0x02,
    /// <summary>Optimistic DAD.</summary>
    Optimistic = 0x04,
    /// <summary>DAD failed.</summary>
    DadFailed = 0x08,
    /// <summary>Home address (MIPv6).</summary>
    HomeAddress = 0x10,
    /// <summary>Deprecated.</summary>
    Deprecated = 0x20,
    /// <summary>DAD still running.</summary>
    Tentative = 0x40,
    /// <summary>Configured statically (no lifetime).</summary>
    Permanent = 0x80,
    /// <summary>Do not add the prefix route.</summary>
    NoPrefixRoute = 0x200,
}
