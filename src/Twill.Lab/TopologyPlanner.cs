using System.Net;
using System.Text.Json;

namespace Twill.Lab;

/// <summary>
/// Turns <see cref="LabOptions"/> into a <see cref="LabTopology"/>: pure, so every naming and
/// addressing rule is unit-tested. Refuses combinations that cannot work (host-gw on l3), reporting
/// every problem at once.
/// </summary>
public static class TopologyPlanner
{
    public const string NamespacePrefix = "twl-";
    public const int MaxNodes = 100;
    public const int MaxPodsPerNode = 50;
    public const int MaxNameLength = 10;

    /// <summary>The port each pod's responder listens on; hostPorts map onto it.</summary>
    public const int ContainerPort = 8080;

    /// <summary>Pod p of a node is published on the node at hostPort <c>FirstHostPort + p - 1</c>.</summary>
    public const int FirstHostPort = 30081;

    /// <summary>The underlay interface inside every node namespace, as on a real machine.</summary>
    public const string NodeInterface = "eth0";

    public static readonly IPNetwork SegmentA = IPNetwork.Parse("192.0.2.0/24");
    public static readonly IPNetwork SegmentB = IPNetwork.Parse("198.51.100.0/24");

    public const string HostGwOnL3 =
        "host-gw cannot run on an l3 underlay: it routes each peer's pod subnet via the peer's own underlay " +
        "address as the next hop, so every node must share one L2 segment, and on l3 half of the peers sit " +
        "behind the router. Use --backend vxlan (the overlay crosses the router), or --underlay l2.";

    // The names --backend, --underlay, --store and net-conf's Backend.Type use; the first is the default.
    private static readonly NameTable<LabBackend> s_backends = new((LabBackend.Vxlan, "vxlan"), (LabBackend.HostGw, "host-gw"), (LabBackend.Bgp, "bgp"));
    private static readonly NameTable<LabUnderlay> s_underlays = new((LabUnderlay.L2, "l2"), (LabUnderlay.L3, "l3"), (LabUnderlay.Tor, "tor"));
    private static readonly NameTable<LabStore> s_stores = new((LabStore.File, "file"), (LabStore.Etcd, "etcd"), (LabStore.Kube, "kube"));

    /// <summary>Every namespace of lab <paramref name="name"/> starts with this (leftover search after a crash).</summary>
    public static string LabPrefix(string name) => $"{NamespacePrefix}{name}-";

    public static LabTopology Plan(LabOptions options)
    {
        List<string> errors = [];
        ValidateName(options.Name, errors);
        if (options.Nodes is < 1 or > MaxNodes)
        {
            errors.Add($"--nodes {options.Nodes}: a lab has 1 to {MaxNodes} nodes");
        }
        if (options.PodsPerNode is < 1 or > MaxPodsPerNode)
        {
            errors.Add($"--pods-per-node {options.PodsPerNode}: 1 to {MaxPodsPerNode} pods per node");
        }

        LabBackend? backend = ResolveBackend(options, errors);
        if (backend == LabBackend.HostGw && options.Underlay == LabUnderlay.L3)
        {
            errors.Add(HostGwOnL3);
        }
        LabTorMode? torMode = TorPlanner.ResolveMode(options, backend, errors);

        CniConfList? cni = null;
        try
        {
            cni = CniConfList.Parse(options.CniConf ?? SeedConfig.CniConfList, options.CniConfSource);
        }
        catch (LabConfigException e)
        {
            errors.Add(e.Message);
        }

        if (errors.Count > 0)
        {
            throw new LabConfigException(string.Join(Environment.NewLine, errors));
        }
        return Build(options, backend!.Value, cni!, torMode);
    }

    private static LabTopology Build(LabOptions options, LabBackend backend, CniConfList cni, LabTorMode? torMode)
    {
        string ns(string suffix) => LabPrefix(options.Name) + suffix;
        bool tor = options.Underlay == LabUnderlay.Tor;
        // Routed underlays: two segments, nodes alternating, .1 on each the router's (or the ToR's).
        bool l3 = options.Underlay == LabUnderlay.L3 || tor;

        UnderlaySegment a = new(tor ? "rack1" : l3 ? "seg-a" : "br0", SegmentA, l3 ? Host(SegmentA, 1) : null);
        UnderlaySegment? b = l3 ? new UnderlaySegment(tor ? "rack2" : "seg-b", SegmentB, Host(SegmentB, 1)) : null;
        List<UnderlaySegment> segments = b is null ? [a] : [a, b];
        string netConf = options.NetConf ?? (tor ? TorPlanner.NetConf(torMode!.Value) : SeedConfig.NetConfFor(backend));

        LabHost? router = null;
        if (tor)
        {
            router = TorPlanner.Router(ns("tor"), a, b!);
        }
        else if (l3)
        {
            router = new LabHost("router", ns("rtr"),
            [
                new HostInterface("eth-a", "rtr-a", a, a.Gateway!),
                new HostInterface("eth-b", "rtr-b", b!, b!.Gateway!),
            ]);
        }

        LabHost? controlPlane = null;
        if (options.Store is LabStore.Etcd or LabStore.Kube)
        {
            controlPlane = new LabHost("cp", ns("cp"), [new HostInterface(NodeInterface, "cp", a, Host(SegmentA, 2))])
            {
                Gateway = a.Gateway,
            };
        }

        List<LabNode> nodes = [];
        List<LabPod> pods = [];
        for (int i = 1; i <= options.Nodes; i++)
        {
            // l3: odd nodes on segment A, even on B, so node1 and node2 already talk across the router.
            UnderlaySegment segment = l3 && i % 2 == 0 ? b! : a;
            string name = $"node{i}";
            nodes.Add(new LabNode(i, name, ns(name), new HostInterface(NodeInterface, name, segment, Host(segment.Prefix, 10 + i))));
            for (int p = 1; p <= options.PodsPerNode; p++)
            {
                string pod = $"n{i}p{p}";
                pods.Add(new LabPod(pod, ns(pod), name, ContainerPort, FirstHostPort + p - 1));
            }
        }

        return new LabTopology
        {
            Name = options.Name,
            Backend = backend,
            Underlay = options.Underlay,
            Store = options.Store,
            NetConf = netConf,
            CniConf = cni,
            SwitchNamespace = ns("sw"),
            Segments = segments,
            Router = router,
            Tor = tor ? TorPlanner.Plan(torMode!.Value, netConf, options.NetConfSource, segments) : null,
            ControlPlane = controlPlane,
            Nodes = nodes,
            Pods = pods,
        };
    }

    private static void ValidateName(string name, List<string> errors)
    {
        bool ok = name.Length is > 0 and <= MaxNameLength
            && char.IsAsciiLetterLower(name[0])
            && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));
        if (!ok)
        {
            errors.Add($"--name \"{name}\": 1 to {MaxNameLength} lowercase letters or digits, starting with a letter " +
                       "(it becomes part of every namespace name, twl-<name>-node1)");
        }
    }

    // The backend is the net-conf's Backend.Type; --backend picks the seed's file when none is given
    // and must agree with the file when one is.
    private static LabBackend? ResolveBackend(LabOptions options, List<string> errors)
    {
        if (options.NetConf is null)
        {
            return options.Backend ?? (options.Underlay == LabUnderlay.Tor ? LabBackend.Bgp : LabBackend.Vxlan);
        }

        string? type = ReadBackendType(options.NetConf, options.NetConfSource, errors);
        if (type is null)
        {
            return null;
        }
        LabBackend? fromFile = s_backends.Find(type.ToLowerInvariant());
        return AgreeWithNetConf(fromFile, options.Backend, errors,
            $"{options.NetConfSource}: Backend.Type \"{type}\": the lab runs vxlan, host-gw or bgp (--topology tor)",
            (asked, _) => $"--backend {Format(asked)} disagrees with {options.NetConfSource} (Backend.Type \"{type}\"); drop one of them");
    }

    /// <summary>
    /// What the net-conf file says (<paramref name="fromFile"/>, null when it names nothing the lab runs:
    /// <paramref name="unknown"/>), unless the flag that may also say it disagrees (<paramref name="disagrees"/>,
    /// given the flag's and the file's values): the file is the configuration, the flag only picks one when there is none.
    /// </summary>
    internal static T? AgreeWithNetConf<T>(T? fromFile, T? asked, List<string> errors, string unknown, Func<T, T, string> disagrees)
        where T : struct
    {
        if (fromFile is not T file)
        {
            errors.Add(unknown);
            return null;
        }
        if (asked is T flag && !EqualityComparer<T>.Default.Equals(flag, file))
        {
            errors.Add(disagrees(flag, file));
            return null;
        }
        return file;
    }

    // Flannel matches net-conf keys case-insensitively; so do we.
    private static string? ReadBackendType(string netConf, string source, List<string> errors)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(netConf);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{source}: must be a JSON object");
                return null;
            }
            JsonElement? backend = Property(doc.RootElement, "Backend");
            if (backend is not { ValueKind: JsonValueKind.Object } b)
            {
                errors.Add($"{source}: Backend is missing; set Backend.Type to vxlan or host-gw");
                return null;
            }
            JsonElement? type = Property(b, "Type");
            if (type is not { ValueKind: JsonValueKind.String } t)
            {
                errors.Add($"{source}: Backend.Type is missing; set it to vxlan or host-gw");
                return null;
            }
            return t.GetString();
        }
        catch (JsonException e)
        {
            errors.Add($"{source}: not valid JSON: {e.Message}");
            return null;
        }
    }

    internal static JsonElement? Property(JsonElement o, string name)
    {
        foreach (JsonProperty p in o.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return p.Value;
            }
        }
        return null;
    }

    public static string Format(LabBackend backend) => s_backends.Format(backend);

    public static string Format(LabUnderlay underlay) => s_underlays.Format(underlay);

    public static LabUnderlay ParseUnderlay(string? underlay) => s_underlays.Parse(underlay);

    public static string Format(LabStore store) => s_stores.Format(store);

    public static LabStore ParseStore(string? store) => s_stores.Parse(store);

    private static IPAddress Host(IPNetwork prefix, int host)
    {
        byte[] bytes = prefix.BaseAddress.GetAddressBytes();
        bytes[3] = checked((byte)host);
        return new IPAddress(bytes);
    }
}
