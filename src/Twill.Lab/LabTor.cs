using System.Net;
using System.Text.Json;
using Twill.Core;

namespace Twill.Lab;

/// <summary>How the lab's top-of-rack router learns the pod subnets.</summary>
public enum LabTorMode
{
    /// <summary>Every agent announces its subnet to the ToR over BGP (the bgp backend, Mode "bgp").</summary>
    Bgp,

    /// <summary>Agents announce nothing (Mode "static"); the lab types <c>twill tor routes --format frr</c> into the ToR.</summary>
    Static,
}

/// <summary>
/// The top-of-rack router of <c>--topology tor</c>: an FRR (zebra, staticd, bgpd) in the ToR
/// namespace, holding .1 on each rack and a loopback every node peers with (one peer address in the
/// shared net-conf for nodes on any rack), accepting any node of either rack as a dynamic BGP
/// neighbour. Pure data; <see cref="TorRouter"/> runs it.
/// </summary>
public sealed record LabTor
{
    /// <summary>The ToR's AS (the net-conf's <c>Peers[0].ASN</c>).</summary>
    public const uint Asn = 65000;

    /// <summary>Every node's AS (the net-conf's <c>Backend.ASN</c>): nodes do not import, so one AS for all needs no as-override.</summary>
    public const uint NodeAsn = 64512;

    /// <summary>The ToR's loopback: its router ID and the one BGP peer address of every node, reached via each node's default route.</summary>
    public static readonly IPAddress Loopback = IPAddress.Parse("203.0.113.1");

    public required LabTorMode Mode { get; init; }

    /// <summary>The pod network the ToR accepts announcements for (net-conf Network) and each node's subnet length.</summary>
    public required IPNetwork ClusterNetwork { get; init; }

    public required int SubnetLength { get; init; }

    /// <summary>The rack subnets whose nodes may peer (FRR <c>bgp listen range</c>).</summary>
    public required IReadOnlyList<IPNetwork> Racks { get; init; }
}

/// <summary>
/// The tor topology's part of planning (pure): which backend and mode go with it, the seed-style
/// net-conf per mode, the ToR host on the two racks, and FRR's configuration for it.
/// </summary>
public static class TorPlanner
{
    public const string NeedsTor =
        "the bgp backend needs a top-of-rack router to announce to: use --topology tor (an FRR ToR as every node's gateway)";

    /// <summary>net-conf.json of mode <paramref name="mode"/>: the seed's Network, the bgp backend peering with the lab's ToR.</summary>
    public static string NetConf(LabTorMode mode) => mode == LabTorMode.Static
        ? """{ "Network": "10.244.0.0/16", "Backend": { "Type": "bgp", "Mode": "static" } }"""
        : $$"""{ "Network": "10.244.0.0/16", "Backend": { "Type": "bgp", "Mode": "bgp", "ASN": {{LabTor.NodeAsn}}, "Peers": [ { "Address": "{{LabTor.Loopback}}", "ASN": {{LabTor.Asn}} } ], "GracefulRestart": true, "RestartTime": 120 } }""";

    /// <summary>
    /// The mode of a tor lab, or null (with the reasons in <paramref name="errors"/>) when the
    /// backend, topology and mode do not go together. A given net-conf's <c>Backend.Mode</c> wins
    /// over the default and must agree with <c>--tor-mode</c>.
    /// </summary>
    public static LabTorMode? ResolveMode(LabOptions options, LabBackend? backend, List<string> errors)
    {
        bool tor = options.Underlay == LabUnderlay.Tor;
        if (!tor)
        {
            if (backend == LabBackend.Bgp)
            {
                errors.Add(NeedsTor);
            }
            if (options.TorMode is not null)
            {
                errors.Add("--tor-mode is for --topology tor only");
            }
            return null;
        }
        if (backend is null)
        {
            return null;
        }
        if (backend != LabBackend.Bgp)
        {
            errors.Add($"--topology tor runs the bgp backend (nothing on the nodes, the ToR routes every pod subnet), not {TopologyPlanner.Format(backend.Value)}; " +
                       "vxlan runs on --underlay l2 or l3, host-gw on l2");
            return null;
        }
        if (options.NetConf is null)
        {
            return options.TorMode ?? LabTorMode.Bgp;
        }
        string? text = ReadMode(options.NetConf);
        LabTorMode? fromFile = text is null ? LabTorMode.Bgp
            : string.Equals(text, "bgp", StringComparison.OrdinalIgnoreCase) ? LabTorMode.Bgp
            : string.Equals(text, "static", StringComparison.OrdinalIgnoreCase) ? LabTorMode.Static
            : null;
        return TopologyPlanner.AgreeWithNetConf(fromFile, options.TorMode, errors,
            $"{options.NetConfSource}: Backend.Mode \"{text}\": expected \"bgp\" or \"static\"",
            (asked, file) => $"--tor-mode {Format(asked)} disagrees with {options.NetConfSource} (Backend.Mode \"{Format(file)}\"); drop one of them");
    }

    /// <summary>The ToR's plan for a topology whose net-conf is <paramref name="netConf"/> (already known to be a bgp one).</summary>
    public static LabTor Plan(LabTorMode mode, string netConf, string source, IReadOnlyList<UnderlaySegment> racks)
    {
        NetworkConfig config;
        try
        {
            config = NetworkConfig.Parse(netConf, out _, source);
        }
        catch (NetworkConfigException e)
        {
            throw new LabConfigException(e.Message);
        }
        if (config.Network is not IPNetwork network)
        {
            throw new LabConfigException($"{source}: --topology tor needs an IPv4 Network (the lab's racks are IPv4)");
        }
        return new LabTor
        {
            Mode = mode,
            ClusterNetwork = network,
            SubnetLength = config.SubnetLen,
            Racks = [.. racks.Select(r => r.Prefix)],
        };
    }

    /// <summary>The ToR on the racks: .1 on each (every node's default gateway there).</summary>
    public static LabHost Router(string ns, UnderlaySegment rack1, UnderlaySegment rack2) => new("tor", ns,
    [
        new HostInterface("rack1", "tor-r1", rack1, rack1.Gateway!),
        new HostInterface("rack2", "tor-r2", rack2, rack2.Gateway!),
    ]);

    /// <summary>
    /// bgpd.conf: dynamic neighbours from both racks in one peer group (eBGP, timers 3/9, graceful
    /// restart helper as FRR defaults), accepting only the cluster network's node-sized subnets.
    /// </summary>
    public static string BgpdConf(LabTor tor) => $"""
        hostname tor
        router bgp {LabTor.Asn}
         bgp router-id {LabTor.Loopback}
         bgp log-neighbor-changes
         no bgp ebgp-requires-policy
         no bgp default ipv4-unicast
         bgp bestpath as-path multipath-relax
         neighbor NODES peer-group
         neighbor NODES remote-as external
         neighbor NODES timers 3 9
        {string.Concat(tor.Racks.Select(r => $" bgp listen range {r} peer-group NODES\n"))} address-family ipv4 unicast
          neighbor NODES activate
          neighbor NODES prefix-list POD-SUBNETS in
          maximum-paths 16
         exit-address-family
        ip prefix-list POD-SUBNETS seq 10 permit {tor.ClusterNetwork} ge {tor.SubnetLength} le {tor.SubnetLength}

        """;

    public static string Format(LabTorMode mode) => mode == LabTorMode.Static ? "static" : "bgp";

    public static LabTorMode ParseMode(string? mode) => mode == "static" ? LabTorMode.Static : LabTorMode.Bgp;

    private static string? ReadMode(string netConf)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(netConf);
            return TopologyPlanner.Property(doc.RootElement, "Backend") is { ValueKind: JsonValueKind.Object } b
                && TopologyPlanner.Property(b, "Mode") is { } m
                ? m.ValueKind == JsonValueKind.String ? m.GetString() : m.GetRawText()
                : null;
        }
        catch (JsonException)
        {
            // ResolveBackend already named the file as not valid JSON.
            return null;
        }
    }
}
