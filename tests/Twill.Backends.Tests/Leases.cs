using System.Net;
using System.Net.NetworkInformation;

namespace Twill.Backends.Tests;

/// <summary>Small builders for plan inputs.</summary>
internal static class Leases
{
    public static readonly Underlay Eth0 = new(2, "eth0", 1500, IPAddress.Parse("192.0.2.11"), IPNetwork.Parse("192.0.2.0/24"));

    public static readonly BackendSettings Vxlan = new() { Kind = BackendKind.Vxlan, Vni = 4096, Port = 4789 };

    public static readonly BackendSettings HostGw = new() { Kind = BackendKind.HostGw };

    public static PeerLease Lease(int third, string publicIp, string? mac = null, int? vni = 4096, string type = "vxlan", PeerOs os = PeerOs.Unknown) => new()
    {
        Key = $"10.244.{third}.0-24",
        Subnet = IPNetwork.Parse($"10.244.{third}.0/24"),
        PublicIP = IPAddress.Parse(publicIp),
        BackendType = type,
        Vni = type == "vxlan" ? vni : null,
        VtepMac = mac is null ? null : mac.Length == 0 ? PhysicalAddress.None : PhysicalAddress.Parse(mac),
        Os = os,
    };

    public static PeerLease Own => Lease(1, "192.0.2.11", "0a:00:00:00:00:01");

    public static PhysicalAddress Mac(string text) => PhysicalAddress.Parse(text);
}
