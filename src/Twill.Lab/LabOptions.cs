namespace Twill.Lab;

/// <summary>The pod-network backend a lab runs; it must match <c>Backend.Type</c> of the net-conf.</summary>
public enum LabBackend
{
    /// <summary>VXLAN overlay (the seed's default: VNI 4096, UDP 4789).</summary>
    Vxlan,

    /// <summary>Static routes via each peer's underlay address; needs one L2 segment.</summary>
    HostGw,

    /// <summary>Nothing on the nodes: the top-of-rack router routes each pod subnet (BGP or static mode; <c>--topology tor</c>).</summary>
    Bgp,
}

/// <summary>How the node namespaces are wired together.</summary>
public enum LabUnderlay
{
    /// <summary>One switch (a bridge in its own namespace): every node on 192.0.2.0/24.</summary>
    L2,

    /// <summary>Two segments (192.0.2.0/24, 198.51.100.0/24) joined by a router namespace.</summary>
    L3,

    /// <summary>Two racks (192.0.2.0/24, 198.51.100.0/24) whose FRR top-of-rack router is every node's gateway (<see cref="LabTor"/>).</summary>
    Tor,
}

/// <summary>Where the agents keep their leases.</summary>
public enum LabStore
{
    /// <summary>The agent's embedded file store, one directory shared by every node of the lab.</summary>
    File,

    /// <summary>A real etcd running in a control-plane namespace of the lab.</summary>
    Etcd,

    /// <summary>Kubernetes (<c>--kube-subnet-mgr</c>): the API server stand-in on etcd in the control-plane namespace.</summary>
    Kube,
}

/// <summary>What the user asked for with <c>twill lab up</c>; <see cref="TopologyPlanner"/> turns it into a plan.</summary>
public sealed record LabOptions
{
    public const string DefaultName = "lab";

    public string Name { get; init; } = DefaultName;

    public int Nodes { get; init; } = 3;

    /// <summary>Null: taken from the net-conf (the seed's vxlan one when none is given).</summary>
    public LabBackend? Backend { get; init; }

    public LabUnderlay Underlay { get; init; } = LabUnderlay.L2;

    public LabStore Store { get; init; } = LabStore.File;

    /// <summary>How the ToR learns the pod subnets (<c>--topology tor</c> only); null: the net-conf's Mode, else BGP.</summary>
    public LabTorMode? TorMode { get; init; }

    public int PodsPerNode { get; init; } = 2;

    /// <summary>The net-conf.json text; null: the seed's configuration for the backend.</summary>
    public string? NetConf { get; init; }

    /// <summary>Where <see cref="NetConf"/> came from, for error messages.</summary>
    public string NetConfSource { get; init; } = "net-conf.json";

    /// <summary>The CNI conflist text; null: the seed's <c>vxlan0</c> conflist.</summary>
    public string? CniConf { get; init; }

    public string CniConfSource { get; init; } = "cni-conf.json";
}
