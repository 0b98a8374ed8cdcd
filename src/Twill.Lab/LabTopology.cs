using System.Net;

namespace Twill.Lab;

/// <summary>
/// Everything a lab is made of, computed up front from <see cref="LabOptions"/> by
/// <see cref="TopologyPlanner"/>: namespaces, underlay addressing, nodes and pods. Pure data; the
/// builder turns it into kernel objects and processes, and <c>down</c> removes exactly these.
/// </summary>
public sealed record LabTopology
{
    public required string Name { get; init; }

    public required LabBackend Backend { get; init; }

    public required LabUnderlay Underlay { get; init; }

    public required LabStore Store { get; init; }

    public required string NetConf { get; init; }

    public required CniConfList CniConf { get; init; }

    /// <summary>The namespace holding the underlay bridge(s): the "switch".</summary>
    public required string SwitchNamespace { get; init; }

    public required IReadOnlyList<UnderlaySegment> Segments { get; init; }

    /// <summary>The router joining the segments (l3), or the top-of-rack router (tor).</summary>
    public LabHost? Router { get; init; }

    /// <summary>What the ToR runs (tor only): FRR's plan, the mode.</summary>
    public LabTor? Tor { get; init; }

    /// <summary>The control-plane host running etcd (<c>--store etcd</c> only).</summary>
    public LabHost? ControlPlane { get; init; }

    public required IReadOnlyList<LabNode> Nodes { get; init; }

    public required IReadOnlyList<LabPod> Pods { get; init; }

    /// <summary>Every namespace of the lab, in the order they are created (deleted in reverse).</summary>
    public IEnumerable<string> Namespaces
    {
        get
        {
            yield return SwitchNamespace;
            if (Router is not null)
            {
                yield return Router.Namespace;
            }
            if (ControlPlane is not null)
            {
                yield return ControlPlane.Namespace;
            }
            foreach (LabNode node in Nodes)
            {
                yield return node.Namespace;
            }
            foreach (LabPod pod in Pods)
            {
                yield return pod.Namespace;
            }
        }
    }

    public LabNode Node(string name) =>
        Nodes.FirstOrDefault(n => n.Name == name) ?? throw new ArgumentException($"no node named {name} in lab {Name}", nameof(name));
}

/// <summary>One underlay L2 segment: a bridge in the switch namespace and its prefix.</summary>
/// <param name="Bridge">The bridge's name in the switch namespace.</param>
/// <param name="Gateway">The router's address on this segment (l3), else null.</param>
public sealed record UnderlaySegment(string Bridge, IPNetwork Prefix, IPAddress? Gateway);

/// <summary>
/// An interface of a lab host on a segment: <see cref="Name"/> inside the host's namespace, its veth
/// peer <see cref="SwitchPort"/> enslaved to the segment's bridge in the switch namespace.
/// </summary>
public sealed record HostInterface(string Name, string SwitchPort, UnderlaySegment Segment, IPAddress Address)
{
    public int PrefixLength => Segment.Prefix.PrefixLength;
}

/// <summary>A namespace on the underlay that is not a node: the router, the control plane.</summary>
public sealed record LabHost(string Name, string Namespace, IReadOnlyList<HostInterface> Interfaces)
{
    /// <summary>Default route of a single-homed host (the control plane on l3); null for none.</summary>
    public IPAddress? Gateway { get; init; }

    public IPAddress Address => Interfaces[0].Address;
}

/// <summary>A Kubernetes node: its namespace runs one agent; its pods hang off its bridge.</summary>
public sealed record LabNode(int Index, string Name, string Namespace, HostInterface Underlay)
{
    public IPAddress Address => Underlay.Address;

    /// <summary>The default route (the router's address on l3; null on l2, where every peer is on-link).</summary>
    public IPAddress? Gateway => Underlay.Segment.Gateway;
}

/// <summary>A pod: its own namespace, wired by the CNI plugins into <see cref="Node"/>.</summary>
/// <param name="Name">Short name, e.g. <c>n1p2</c> (node 1, pod 2).</param>
/// <param name="HostPort">The hostPort mapped (portmap) on the node to <see cref="ContainerPort"/>.</param>
public sealed record LabPod(string Name, string Namespace, string Node, int ContainerPort, int HostPort)
{
    /// <summary>The CNI container id: unique per lab, so two labs never share a host-local reservation.</summary>
    public string ContainerId(string lab) => $"twill-lab-{lab}-{Name}";
}
