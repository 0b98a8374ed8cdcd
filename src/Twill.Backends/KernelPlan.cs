using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;

namespace Twill.Backends;

/// <summary>
/// The VXLAN device a plan wants: <c>ip link add flannel.VNI type vxlan id VNI local IP dev UNDERLAY
/// dstport PORT [no]learning [gbp]</c>, with the MTU and a MAC set explicitly.
/// </summary>
public sealed record PlannedDevice
{
    public required string Name { get; init; }
    public required int Vni { get; init; }
    public required IPAddress Local { get; init; }
    public required int UnderlayIndex { get; init; }
    public required int Port { get; init; }
    public bool Gbp { get; init; }

    /// <summary>Kernel FDB learning (Backend.Learning); off unless net-conf.json asks for it, as in Flannel.</summary>
    public bool Learning { get; init; }
    public required int Mtu { get; init; }

    /// <summary>The stable VtepMAC; null lets the kernel choose (the reconciler then persists what it got).</summary>
    public PhysicalAddress? Mac { get; init; }

    public override string ToString() =>
        $"{Name} vxlan id {Vni} local {Local} dev {UnderlayIndex} dstport {Port}{(Learning ? " learning" : " nolearning")}{(Gbp ? " gbp" : "")} mtu {Mtu}";
}

/// <summary>An address on one of our devices (<c>ip addr add ADDRESS/LEN dev DEVICE</c>).</summary>
public sealed record PlannedAddress(string Device, IPAddress Address, int PrefixLength)
{
    public override string ToString() => $"{Address}/{PrefixLength.ToString(CultureInfo.InvariantCulture)} dev {Device}";
}

/// <summary>
/// A route Twill owns (protocol Twill): <c>DEST via GATEWAY dev DEVICE [onlink]</c>; with
/// <see cref="MoreGateways"/>, one ECMP route (<c>nexthop via GATEWAY nexthop via ...</c>, all on DEVICE).
/// </summary>
public sealed record PlannedRoute(IPNetwork Destination, IPAddress Gateway, string Device, bool OnLink)
{
    /// <summary>Further next hops beside <see cref="Gateway"/> (ECMP), in order; empty for a single path.</summary>
    public IReadOnlyList<IPAddress> MoreGateways { get; init; } = [];

    // By value, next hops included: the differ compares a planned route with the kernel's.
    public bool Equals(PlannedRoute? other) =>
        other is not null && Destination.Equals(other.Destination) && Gateway.Equals(other.Gateway)
        && Device == other.Device && OnLink == other.OnLink && MoreGateways.SequenceEqual(other.MoreGateways);

    public override int GetHashCode() => HashCode.Combine(Destination, Gateway, Device, OnLink, MoreGateways.Count);

    public override string ToString() =>
        $"{Destination} via {string.Join(", ", MoreGateways.Prepend(Gateway))} dev {Device}{(OnLink ? " onlink" : "")}";
}

/// <summary>A permanent neighbour on our device: <c>ADDRESS lladdr MAC dev DEVICE nud permanent</c>.</summary>
public sealed record PlannedNeighbour(string Device, IPAddress Address, PhysicalAddress Mac)
{
    public override string ToString() => $"{Address} lladdr {Mac.ToColonString()} dev {Device}";
}

/// <summary>A VXLAN forwarding entry: <c>bridge fdb MAC dev DEVICE dst REMOTE self permanent</c>.</summary>
public sealed record PlannedFdb(string Device, PhysicalAddress Mac, IPAddress Destination)
{
    public override string ToString() => $"{Mac.ToColonString()} dst {Destination} dev {Device}";
}

/// <summary>How bad a plan problem is.</summary>
public enum ProblemSeverity
{
    /// <summary>Expected and harmless (a Windows node's first, MAC-less publication).</summary>
    Info,

    /// <summary>Something is off but traffic to the peer may still work.</summary>
    Warning,

    /// <summary>Traffic to (or from) the peer cannot work; the operator must act.</summary>
    Error,
}

/// <summary>Something a plan noticed about a peer, named so an operator can find it.</summary>
public sealed record PlanProblem(ProblemSeverity Severity, string Peer, string Message)
{
    public override string ToString() => $"{Severity.ToString().ToLowerInvariant()}: peer {Peer}: {Message}";
}

/// <summary>
/// The desired kernel state of a node, as data: every object Twill owns that should exist. What is
/// not here and is Twill's (our device's neighbours and FDB, routes with protocol Twill) is removed.
/// </summary>
public sealed record KernelPlan
{
    /// <summary>The VXLAN device; null for host-gw.</summary>
    public PlannedDevice? Device { get; init; }

    public IReadOnlyList<PlannedAddress> Addresses { get; init; } = [];

    public IReadOnlyList<PlannedRoute> Routes { get; init; } = [];

    public IReadOnlyList<PlannedNeighbour> Neighbours { get; init; } = [];

    public IReadOnlyList<PlannedFdb> Fdb { get; init; } = [];

    public IReadOnlyList<PlanProblem> Problems { get; init; } = [];

    /// <summary>Peers the plan routes (programmed objects exist for them).</summary>
    public int PeerCount { get; init; }

    /// <summary>Number of kernel objects the plan holds (device, addresses, routes, neighbours, FDB).</summary>
    public int ObjectCount => (Device is null ? 0 : 1) + Addresses.Count + Routes.Count + Neighbours.Count + Fdb.Count;
}
