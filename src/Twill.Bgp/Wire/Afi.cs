namespace Twill.Bgp.Wire;

/// <summary>Address Family Identifier (IANA); the two this speaker carries.</summary>
public enum Afi : ushort
{
    IPv4 = 1,
    IPv6 = 2,
}

/// <summary>Subsequent Address Family Identifier (RFC 4760); only unicast is carried.</summary>
public enum Safi : byte
{
    Unicast = 1,
}

/// <summary>An (AFI, SAFI) pair: what Multiprotocol, Graceful Restart, End-of-RIB and ROUTE-REFRESH name.</summary>
public readonly record struct BgpFamily(Afi Afi, Safi Safi)
{
    public static BgpFamily IPv4Unicast { get; } = new(Afi.IPv4, Safi.Unicast);

    public static BgpFamily IPv6Unicast { get; } = new(Afi.IPv6, Safi.Unicast);

    /// <summary>IPv4 or IPv6 unicast for an address of that family.</summary>
    public static BgpFamily Of(System.Net.Sockets.AddressFamily family) =>
        family == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPv6Unicast : IPv4Unicast;

    /// <summary>Whether this is one of the families the speaker carries.</summary>
    public bool IsSupported => Safi == Safi.Unicast && Afi is Afi.IPv4 or Afi.IPv6;

    /// <summary>Address length in octets (4 or 16).</summary>
    public int AddressLength => Afi == Afi.IPv6 ? 16 : 4;

    public System.Net.Sockets.AddressFamily SocketFamily =>
        Afi == Afi.IPv6 ? System.Net.Sockets.AddressFamily.InterNetworkV6 : System.Net.Sockets.AddressFamily.InterNetwork;

    public override string ToString() => (Afi, Safi) switch
    {
        (Afi.IPv4, Safi.Unicast) => "ipv4-unicast",
        (Afi.IPv6, Safi.Unicast) => "ipv6-unicast",
        _ => $"afi{(ushort)Afi}/safi{(byte)Safi}",
    };
}
