using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Twill.Netlink;
using Twill.Testing;

namespace Twill.Bgp.Tests;

/// <summary>
/// A ToR namespace (bridge br0, 198.51.100.1/24 and 2001:db8:1::1/64, forwarding on) and one node
/// namespace (eth0 198.51.100.11/24, 2001:db8:1::11/64) on it; optionally a real FRR (zebra + bgpd)
/// in the ToR, run exactly as ../shared/reference/frr-tor.md shows: per-namespace zserv and vty
/// sockets, never the system service, stopped by PID. Dispose stops FRR and deletes everything.
/// </summary>
internal sealed class TorLab : IDisposable
{
    public const uint TorAsn = 65000;
    public const uint NodeAsn = 64512;

    public static readonly IPAddress TorAddress = IPAddress.Parse("198.51.100.1");
    public static readonly IPAddress NodeAddress = IPAddress.Parse("198.51.100.11");
    public static readonly IPAddress TorAddress6 = IPAddress.Parse("2001:db8:1::1");
    public static readonly IPAddress NodeAddress6 = IPAddress.Parse("2001:db8:1::11");

    private readonly NetNs _nodeHandle;
    private FrrRouter? _frr;

    public TorLab()
    {
        Tor = new TestNetns("tor");
        try
        {
            Node = new TestNetns("node");
            Tor.Ip("link", "add", "br0", "type", "bridge");
            Tor.Ip("addr", "add", "198.51.100.1/24", "dev", "br0");
            Tor.Ip("addr", "add", "2001:db8:1::1/64", "dev", "br0", "nodad");
            Tor.Ip("link", "set", "br0", "up");
            Tor.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1").EnsureSuccess("sysctl");
            Tor.Exec("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1").EnsureSuccess("sysctl");
            Tor.Ip("link", "add", "t1", "type", "veth", "peer", "name", "eth0", "netns", Node.Name);
            Tor.Ip("link", "set", "t1", "master", "br0", "up");
            Node.Ip("addr", "add", "198.51.100.11/24", "dev", "eth0");
            Node.Ip("addr", "add", "2001:db8:1::11/64", "dev", "eth0", "nodad");
            Node.Ip("link", "set", "eth0", "up");
            Node.Ip("route", "add", "default", "via", "198.51.100.1");
            _nodeHandle = NetNs.Open(Node.Name);
        }
        catch
        {
            Node?.Dispose();
            Tor.Dispose();
            throw;
        }
    }

    public TestNetns Tor { get; }

    public TestNetns Node { get; }

    public static bool FrrInstalled => FrrRouter.Installed;

    /// <summary>Makes a TCP socket inside the node namespace (the kernel keeps a socket in the namespace it was created in).</summary>
    public Socket NodeSocket(AddressFamily family) => _nodeHandle.Run(() => new Socket(family, SocketType.Stream, ProtocolType.Tcp));

    /// <summary>Makes a TCP socket inside the ToR namespace (for a fake peer).</summary>
    public Socket TorSocket(AddressFamily family)
    {
        using NetNs tor = NetNs.Open(Tor.Name);
        return tor.Run(() => new Socket(family, SocketType.Stream, ProtocolType.Tcp));
    }

    /// <summary>
    /// Starts zebra and bgpd in the ToR. The node is an explicit neighbour (passive on the ToR side:
    /// the node connects), timers 3/9, IPv4 and IPv6 unicast; <paramref name="originate"/> prefixes
    /// are announced by the ToR itself.
    /// </summary>
    public void StartFrr(string? password = null, IEnumerable<string>? originate = null, bool passive = true, IPAddress? neighbor = null)
    {
        string n = (neighbor ?? NodeAddress).ToString();
        string conf = $"""
            hostname tor
            router bgp {TorAsn}
             bgp router-id {TorAddress}
             no bgp ebgp-requires-policy
             no bgp default ipv4-unicast
             no bgp network import-check
             bgp bestpath as-path multipath-relax
             neighbor {n} remote-as {NodeAsn}
            {(passive ? $" neighbor {n} passive\n" : "")} neighbor {n} timers connect 1
             neighbor {n} timers 3 9
            {(password is null ? "" : $" neighbor {n} password {password}\n")} address-family ipv4 unicast
              neighbor {n} activate
            {string.Concat((originate ?? []).Where(p => !p.Contains(':', StringComparison.Ordinal)).Select(p => $"  network {p}\n"))}  maximum-paths 16
             exit-address-family
             address-family ipv6 unicast
              neighbor {n} activate
            {string.Concat((originate ?? []).Where(p => p.Contains(':', StringComparison.Ordinal)).Select(p => $"  network {p}\n"))} exit-address-family
            """;
        _frr = new FrrRouter(Tor, conf);
        Eventually(() => Vtysh("show bgp summary").Contains(n, StringComparison.Ordinal), TimeSpan.FromSeconds(30), "bgpd answering on its vty");
    }

    public string Vtysh(string command) => _frr!.Vtysh(command);

    /// <summary>The ToR's kernel routes for <paramref name="prefix"/> (`ip -n tor -j route show PREFIX`).</summary>
    public JsonElement TorRoutes(string prefix) => _frr!.Routes(prefix);

    /// <summary>Whether the ToR's kernel holds <paramref name="prefix"/> as `proto bgp` via <paramref name="via"/>.</summary>
    public bool TorHasBgpRoute(string prefix, IPAddress via) => _frr!.HasBgpRoute(prefix, via);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static TimeSpan Eventually(Func<bool> condition, TimeSpan timeout, string what) => FrrRouter.Eventually(condition, timeout, what);

    public void Dispose()
    {
        try
        {
            _frr?.Dispose();
        }
        finally
        {
            _nodeHandle?.Dispose();
            Node?.Dispose();
            Tor.Dispose();
        }
    }
}
