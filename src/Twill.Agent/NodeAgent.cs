using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Twill.Agent.Store;
using Twill.Backends;
using Twill.Bgp.Config;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;
using Twill.Netlink;

namespace Twill.Agent;

/// <summary>
/// The node agent, composed: opens the lease store (<see cref="LeaseStoreKinds"/>), reads the network
/// configuration (<see cref="AgentConfig"/>), picks each family's underlay and VtepMAC
/// (<see cref="VtepMacClaim"/>), leases this node's subnet, then runs the loops — the peer watch and
/// the <see cref="ReconcileLoop"/> over one <see cref="DataPathStack"/> per address family, the lease
/// renewal, the <see cref="FirewallLoop"/> — and the health server, until stopped or until a loop
/// fails. Stopping leaves the data path in place. <c>--cleanup</c> is <see cref="AgentCleanup"/>.
/// </summary>
public sealed class NodeAgent
{
    private readonly AgentOptions _options;
    private readonly ILogger _log;
    private readonly AgentMetrics _metrics = new();

    public NodeAgent(AgentOptions options, ILogger log)
    {
        _options = options;
        _log = log;
    }

    public AgentMetrics Metrics => _metrics;

    /// <summary>Runs until <paramref name="stop"/> fires; returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        if (_options.Cleanup)
        {
            return AgentCleanup.Run(_options, _log);
        }
        Readiness readiness = _metrics.Readiness;
        ILeaseStore inner = CreateStore(_options.LeaseStore, _log, readiness.WatchFailed);
        await using ILeaseStore store = new ObservedLeaseStore(inner, readiness);
        // Kubernetes: the cluster assigns the subnet, and already knows this node (its published VtepMAC, node-public-ip).
        IAssignedSubnetStore? assigned = inner as IAssignedSubnetStore;
        AssignedNodeState? known = assigned is null ? null : await assigned.ReadOwnStateAsync(stop).ConfigureAwait(false);
        AgentOptions options = known is null ? _options : _options with
        {
            PublicIP = known.PublicIP ?? _options.PublicIP,
            PublicIPv6 = known.PublicIPv6 ?? _options.PublicIPv6,
        };
        NetworkConfig config = await AgentConfig.LoadAsync(_options, store, _log, stop).ConfigureAwait(false);
        // The bgp section is read in full (password files too) before anything is leased or programmed.
        BgpBackendConfig? bgp = AgentConfig.ReadBgp(config, _options.NetConfigPath, _log);
        using RtnlConnection rtnl = RtnlConnection.Open();
        // Each enabled family (EnableIPv4 / EnableIPv6) gets its underlay address on one interface,
        // its own device and stable VtepMAC, and its part of the lease (Flannel's dual-stack layout).
        IReadOnlyList<AddressFamily> families = DualStack.Families(config);
        UnderlayChoice underlays = UnderlaySelector.Select(rtnl, options, config.EnableIPv4, config.EnableIPv6);
        BackendSettings settings = AgentConfig.ToSettings(config.Backend);
        Dictionary<AddressFamily, PhysicalAddress?> macs = [];
        foreach (AddressFamily family in families)
        {
            Underlay underlay = underlays.For(family)!;
            _log.LogInformation("Underlay {Interface} {Address} (public IP {PublicIP}), backend {Backend}, {Family}",
                underlay.Name, underlay.Address, underlays.PublicFor(family), config.Backend.Type, DualStack.Name(family));
            string device = settings.DeviceNameFor(family);
            macs[family] = settings.Kind == BackendKind.Vxlan
                ? VtepMacState.LoadOrCreate(_options.StateDir, device, rtnl.TryGetLink(device)?.Mac ?? PublishedMac(known, family))
                : null;
        }
        VtepMacClaim claim = new(_options.StateDir, settings, underlays, macs, _log);

        LeaseManager manager = new(store, config, new LeaseManagerOptions
        {
            RenewMargin = _options.SubnetLeaseRenewMargin,
            PreviousSubnets = AgentConfig.PreviousSubnets(_options, _log),
            ReviseAttrs = claim.Revise,
            AssignedSubnets = assigned,
        }, _log);
        Lease lease = await manager.AcquireAsync(claim.Attrs(), stop).ConfigureAwait(false);
        // One stack per address family: flannel.<VNI> / flannel-v6.<VNI> (or host-gw routes of that
        // family), each port reading and changing only its family's objects.
        PeerLeases peerLeases = new();
        List<DataPathStack> stacks = [.. families.Select(family => new DataPathStack(DualStack.Name(family), settings,
            DualStack.OwnInput(peerLeases, lease, family), underlays.For(family)!, claim.Macs[family],
            new Reconciler(new RtnlKernelPort(rtnl, family)), l => peerLeases.Convert(l, family)))];
        ReconcileLoop loop = new(stacks, manager, new SubnetEnvPublisher(_options.SubnetFile, config, _options.IpMasq), _options.ResyncPeriod, _log, _metrics);

        // The bgp backend announces this node's subnet to the ToR.
        // Routes it imports (ImportRoutes) join each stack's plan, so the reconciler owns them like any other.
        await using TorAnnouncer? tor = bgp is null
            ? null
            : TorAnnouncer.Start(bgp, config, lease, underlays.PublicIP, underlays.PublicIPv6, _options.StateDir, _log, loop.Wake, readiness);
        foreach (DataPathStack stack in stacks)
        {
            stack.Learnt = tor is null ? null : () => tor.ImportedRoutes.Select(r => (r.Prefix, r.NextHops));
        }

        FirewallLoop? firewall = FirewallLoop.Start(_options, config, lease, _log);
        await using HealthServer? health = _options.HealthzPort > 0
            ? new HealthServer(_options.HealthzIP, _options.HealthzPort, loop.Alive, _metrics)
            : null;
        if (health is not null)
        {
            _log.LogInformation("Serving /healthz, /readyz and /metrics on {Endpoint}", health.Endpoint);
        }

        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(stop);
        CancellationToken ct = linked.Token;
        Task[] loops =
        [
            loop.WatchAsync(ct),
            manager.RunRenewalAsync(ct),
            loop.RunAsync(ct),
            // Without a firewall there is no loop, but a completed task here would look like a loop that died.
            firewall is null ? Task.Delay(Timeout.Infinite, ct) : firewall.RunAsync(ct),
            assigned is null ? Task.Delay(Timeout.Infinite, ct) : ReportReadyAsync(assigned, loop.DataPathReady, ct),
        ];
        Task first = await Task.WhenAny(loops).ConfigureAwait(false);
        int code = 0;
        if (!stop.IsCancellationRequested)
        {
            // A loop ended on its own: that is a failure (lease lost, watch died).
            try
            {
                await first.ConfigureAwait(false);
                _log.LogError("A loop of the agent ended unexpectedly; exiting");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log.LogError(e, "Agent failed; exiting (the data path is left in place)");
            }
            code = 1;
        }
        await linked.CancelAsync().ConfigureAwait(false);
        foreach (Task t in loops)
        {
            try
            {
                await t.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or LeaseLostException)
            {
            }
            catch (Exception e)
            {
                _log.LogDebug(e, "Loop ended with an error while stopping");
            }
        }
        if (tor is not null && stop.IsCancellationRequested)
        {
            await tor.StopAsync().ConfigureAwait(false);
        }
        _log.LogInformation("Stopped; the data path is left in place");
        return code;
    }

    /// <summary>The MAC this node published before (Kubernetes: its backend-data), so a wiped state directory keeps the peers' FDB entries valid.</summary>
    private static PhysicalAddress? PublishedMac(AssignedNodeState? known, AddressFamily family) =>
        family == AddressFamily.InterNetworkV6 ? known?.VtepMacV6 : known?.VtepMac;

    /// <summary>Once the data path is ready, tells the cluster (NetworkUnavailable=False), retrying until it is told; then idles.</summary>
    private async Task ReportReadyAsync(IAssignedSubnetStore assigned, Task ready, CancellationToken ct)
    {
        await ready.WaitAsync(ct).ConfigureAwait(false);
        TimeSpan retry = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await assigned.MarkNetworkAvailableAsync(ct).ConfigureAwait(false);
                _log.LogInformation("Told the cluster this node's network is available");
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log.LogWarning("Setting NetworkUnavailable=False failed ({Error}); retrying in {Retry}", e.Message, retry);
                await Task.Delay(retry, ct).ConfigureAwait(false);
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
        await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
    }

    /// <summary>The store the options name (the factory every command shares); a watch break goes to the log, or an outage would pass unseen.</summary>
    internal static ILeaseStore CreateStore(LeaseStoreOptions options, ILogger log, Action<string>? watchProblem = null) =>
        LeaseStoreKinds.Create(options, LeaseStoreUse.Run, problem =>
        {
            log.LogWarning("Lease watch: {Problem}", problem);
            watchProblem?.Invoke(problem);
        }, warning => log.LogWarning("{Warning}", warning));
}
