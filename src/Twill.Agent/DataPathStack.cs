using System.Diagnostics;
using System.Net.NetworkInformation;
using System.Runtime.CompilerServices;
using Twill.Backends;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// One address family's data path — a "stack": the backend settings, this node's lease as that
/// family's plan input, the underlay, the stable VtepMAC, the reconciler with its last applied plan,
/// and the conversion of peer leases into that family's plan inputs. The agent's reconcile loop runs
/// every stack on each pass with the same peer leases; the data path is ready when every stack has
/// converged. A node runs one stack per enabled family (<see cref="DualStack"/>): IPv4 on
/// <c>flannel.&lt;VNI&gt;</c>, IPv6 on <c>flannel-v6.&lt;VNI&gt;</c> with the IPv6 underlay and public IP
/// and a converter that reads the lease's IPv6 subnet and <c>BackendV6Data</c>.
/// </summary>
/// <param name="name">For logs: "IPv4", "IPv6".</param>
/// <param name="settings">The backend settings for this family.</param>
/// <param name="own">This node's lease as this family's plan input.</param>
/// <param name="underlay">This family's underlay interface and address.</param>
/// <param name="vtepMac">The stable VtepMAC of this family's device (null for host-gw).</param>
/// <param name="reconciler">The reconciler for this family's objects.</param>
/// <param name="convert">A peer lease as this family's plan input; null when the lease has nothing for this family.</param>
internal sealed class DataPathStack(string name, BackendSettings settings, PeerLease own, Underlay underlay, PhysicalAddress? vtepMac,
    Reconciler reconciler, Func<Lease, PeerLease?> convert)
{
    private readonly Func<Lease, PeerLease?> _convert = convert;

    // Each lease's plan input, attached to the lease object itself rather than kept in a set of our
    // own: which leases are peers is the PeerSet's business alone, and an input goes when its lease
    // does. Leases are immutable records, replaced on every change, so a peer whose Lease instance is
    // the same keeps its input: an event converts one lease, not all.
    private readonly ConditionalWeakTable<Lease, Converted> _inputs = new();

    public string Name { get; } = name;
    public BackendSettings Settings { get; } = settings;
    public PeerLease Own { get; } = own;
    public Underlay Underlay { get; } = underlay;
    public PhysicalAddress? VtepMac { get; } = vtepMac;
    public Reconciler Reconciler { get; } = reconciler;

    /// <summary>The plan of the last pass (null before the first).</summary>
    public KernelPlan? LastPlan { get; private set; }

    /// <summary>The result of the last pass (null before the first).</summary>
    public ReconcileResult? LastResult { get; private set; }

    /// <summary>True when the next pass cannot be a delta (nothing applied yet, or the last pass failed).</summary>
    public bool NeedsFull => Reconciler.Applied is null;

    /// <summary>The backend's plan for these peers. Pure.</summary>
    public KernelPlan Plan(IReadOnlyList<PeerLease> peers) => Settings.Kind switch
    {
        BackendKind.Vxlan => VxlanBackend.Plan(Settings, Own, peers, Underlay, VtepMac),
        BackendKind.HostGw => HostGwBackend.Plan(Settings, Own, peers, Underlay),
        _ => TorBackend.Plan(peers, Learnt?.Invoke() ?? [], Underlay),
    };

    /// <summary>The bgp backend's imported routes (prefix, next hops), read on every pass; null: none.</summary>
    public Func<IEnumerable<(System.Net.IPNetwork Prefix, IReadOnlyList<System.Net.IPAddress> NextHops)>>? Learnt { get; set; }

    /// <summary>
    /// Plans for <paramref name="peers"/> and brings the kernel to the plan: a full pass when
    /// <paramref name="full"/> or when the stack cannot do a delta, else a delta against the last
    /// applied plan.
    /// </summary>
    public StackPass Run(IReadOnlyCollection<Lease> peers, bool full)
    {
        long start = Stopwatch.GetTimestamp();
        List<PeerLease> inputs = Inputs(peers);
        KernelPlan plan = Plan(inputs);
        TimeSpan planTime = Stopwatch.GetElapsedTime(start);
        ReconcileResult result = full ? Reconciler.Reconcile(plan) : Reconciler.ApplyDelta(plan);
        LastPlan = plan;
        LastResult = result;
        return new StackPass(this, plan, result, planTime);
    }

    /// <summary>The plan inputs for <paramref name="peers"/>, converting only leases not seen before.</summary>
    private List<PeerLease> Inputs(IReadOnlyCollection<Lease> peers)
    {
        List<PeerLease> inputs = new(peers.Count);
        foreach (Lease lease in peers)
        {
            if (!_inputs.TryGetValue(lease, out Converted? converted))
            {
                converted = new Converted(_convert(lease));
                _inputs.AddOrUpdate(lease, converted);
            }
            if (converted.Input is PeerLease input)
            {
                inputs.Add(input);
            }
        }
        return inputs;
    }

    /// <summary>A lease's plan input for this family (null: the lease has nothing for it).</summary>
    private sealed record Converted(PeerLease? Input);
}

/// <summary>What one stack did in one pass: its plan, the reconcile result, and how long planning took.</summary>
internal sealed record StackPass(DataPathStack Stack, KernelPlan Plan, ReconcileResult Result, TimeSpan PlanTime);
