using System.Diagnostics;
using System.Net;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>One probe of the check: what is tested, from which namespace, to where.</summary>
public sealed record CheckProbe(CheckKind Kind, string From, string To, IPAddress Address, int Port, string? ExpectBanner)
{
    public ProbeResult? Ping { get; set; }

    public ProbeResult? Tcp { get; set; }

    public bool Ok => Kind switch
    {
        CheckKind.PodToPod => Ping?.Ok == true && TcpOk,
        CheckKind.PodToNode => Ping?.Ok == true,
        _ => TcpOk,
    };

    private bool TcpOk => Tcp is { Ok: true } t && (ExpectBanner is null || t.Detail == ExpectBanner);

    /// <summary>Why it failed, in words.</summary>
    public string Failure => Ping is { Ok: false } p ? $"ping: {p.Detail}"
        : Tcp is { Ok: false } t ? $"tcp :{Port}: {t.Detail}"
        : Tcp is { } w && ExpectBanner is not null && w.Detail != ExpectBanner ? $"tcp :{Port} answered by the wrong pod: {w.Detail.Trim()}"
        : "";
}

public enum CheckKind
{
    /// <summary>Ping and TCP from one pod to another pod's address.</summary>
    PodToPod,

    /// <summary>Ping from a pod to the underlay address of a node that is not its own.</summary>
    PodToNode,

    /// <summary>TCP from another node to a pod's hostPort on its node's underlay address.</summary>
    HostPort,
}

/// <summary>Everything <c>twill lab check</c> found.</summary>
public sealed record CheckReport(IReadOnlyList<string> Pods, IReadOnlyList<CheckProbe> Probes, TimeSpan Elapsed)
{
    public IEnumerable<CheckProbe> Of(CheckKind kind) => Probes.Where(p => p.Kind == kind);

    public bool Ok => Probes.All(p => p.Ok);

    public string Verdict
    {
        get
        {
            string count(CheckKind k) => $"{Of(k).Count(p => p.Ok)}/{Of(k).Count()}";
            return $"{count(CheckKind.PodToPod)} pod pairs reachable, {count(CheckKind.HostPort)} hostPorts, " +
                   $"{count(CheckKind.PodToNode)} pods reach a foreign node";
        }
    }
}

/// <summary>
/// <c>twill lab check</c>: from every pod, ping and TCP to every other pod; each pod pings a node
/// that is not its own; each hostPort is reached from another node. Failed probes are retried until
/// <c>wait</c> runs out (routes to a peer appear a moment after its lease), then reported.
/// </summary>
public static class LabChecker
{
    public static async Task<CheckReport> RunAsync(LabState state, TimeSpan wait, TimeSpan probeTimeout)
    {
        Stopwatch sw = Stopwatch.StartNew();
        List<CheckProbe> probes = Plan(state);
        Dictionary<string, NetNs> namespaces = [];
        try
        {
            foreach (string ns in probes.Select(p => p.From).Distinct().Where(NetNs.Exists))
            {
                namespaces[ns] = NetNs.Open(ns);
            }
            foreach (CheckProbe p in probes.Where(p => !namespaces.ContainsKey(p.From)))
            {
                p.Ping = p.Tcp = new ProbeResult(false, TimeSpan.Zero, $"namespace {p.From} is gone");
            }
            using SemaphoreSlim gate = new(32);
            List<CheckProbe> pending = [.. probes.Where(p => namespaces.ContainsKey(p.From))];
            while (true)
            {
                await Task.WhenAll(pending.Select(async p =>
                {
                    await gate.WaitAsync().ConfigureAwait(false);
                    try
                    {
                        await RunProbeAsync(p, namespaces[p.From], probeTimeout).ConfigureAwait(false);
                    }
                    finally
                    {
                        gate.Release();
                    }
                })).ConfigureAwait(false);
                pending = [.. pending.Where(p => !p.Ok)];
                if (pending.Count == 0 || sw.Elapsed + probeTimeout > wait)
                {
                    break;
                }
                await Task.Delay(200).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (NetNs ns in namespaces.Values)
            {
                ns.Dispose();
            }
        }
        return new CheckReport([.. state.Pods.Select(p => p.Name)], probes, sw.Elapsed);
    }

    /// <summary>The probes for a lab, in matrix order (pure: unit-tested).</summary>
    public static List<CheckProbe> Plan(LabState state)
    {
        List<CheckProbe> probes = [];
        Dictionary<string, LabNodeState> nodes = state.Nodes.ToDictionary(n => n.Name);
        List<LabPodState> pods = state.Pods;
        foreach (LabPodState from in pods)
        {
            foreach (LabPodState to in pods.Where(t => t != from))
            {
                probes.Add(new CheckProbe(CheckKind.PodToPod, from.Namespace, to.Name, AddressOf(to),
                    to.ContainerPort, NamespaceSockets.Banner(to.Name)));
            }
        }
        for (int i = 0; i < pods.Count; i++)
        {
            LabPodState pod = pods[i];
            int own = state.Nodes.FindIndex(n => n.Name == pod.Node);
            if (state.Nodes.Count < 2 || own < 0)
            {
                continue;
            }
            // The next node round the ring: every node is someone's foreign node and someone's client.
            LabNodeState other = state.Nodes[(own + 1) % state.Nodes.Count];
            LabNodeState home = nodes[pod.Node];
            probes.Add(new CheckProbe(CheckKind.PodToNode, pod.Namespace, other.Name, IPAddress.Parse(other.Address), 0, null));
            probes.Add(new CheckProbe(CheckKind.HostPort, other.Namespace, pod.Name, IPAddress.Parse(home.Address), pod.HostPort,
                NamespaceSockets.Banner(pod.Name)));
        }
        return probes;
    }

    // A pod whose CNI ADD did not finish has no address: its probes fail, they are not skipped.
    private static IPAddress AddressOf(LabPodState pod) =>
        pod.Address is not null && IPAddress.TryParse(pod.Address, out IPAddress? a) ? a : IPAddress.None;

    private static async Task RunProbeAsync(CheckProbe probe, NetNs from, TimeSpan timeout)
    {
        if (probe.Address.Equals(IPAddress.None))
        {
            probe.Ping = probe.Tcp = new ProbeResult(false, TimeSpan.Zero, $"{probe.To} has no address (its CNI ADD did not finish)");
            return;
        }
        if (probe.Kind != CheckKind.HostPort && probe.Ping?.Ok != true)
        {
            probe.Ping = await NamespaceSockets.PingAsync(from, probe.Address, timeout).ConfigureAwait(false);
        }
        if (probe.Kind != CheckKind.PodToNode && !(probe.Tcp is { Ok: true } t && t.Detail == probe.ExpectBanner))
        {
            probe.Tcp = await NamespaceSockets.TcpAsync(from, probe.Address, probe.Port, timeout).ConfigureAwait(false);
        }
    }
}
