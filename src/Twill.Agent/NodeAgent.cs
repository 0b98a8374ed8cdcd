using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Twill.Backends;
using Twill.Core;
using Twill.Firewall;
using Twill.Firewall.Masquerade;
using Twill.Leases;
using Twill.Leases.Etcd;
using Twill.Leases.Store;
using Twill.Netlink;

namespace Twill.Agent;

/// <summary>
/// The node agent: leases this node's subnet, then keeps the kernel equal to the backend's plan for
/// the current peers — at start (once the first peer listing is in, so a restart never drops a
/// peer's routes), on every lease event, and every resync period — and writes subnet.env once the
/// data path is ready. Stopping leaves the data path in place.
/// </summary>
public sealed class NodeAgent
{
    private readonly AgentOptions _options;
    private readonly ILogger _log;
    private readonly AgentMetrics _metrics = new();
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Dictionary<string, Lease> _peers = new(StringComparer.Ordinal);
    private readonly Lock _peersGate = new();
    private readonly PeerLeases _peerLeases = new();
    private bool _haveSnapshot;
    private long _lastLoopTicks = Stopwatch.GetTimestamp();

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
            return RunCleanup();
        }
        await using ILeaseStore store = CreateStore(_options, _log);
        NetworkConfig config = await LoadConfigAsync(store, stop).ConfigureAwait(false);
        using RtnlConnection rtnl = RtnlConnection.Open();
        (Underlay underlay, IPAddress publicIp) = UnderlaySelector.Select(rtnl, _options);
        BackendSettings settings = ToSettings(config.Backend);
        _log.LogInformation("Underlay {Interface} {Address} (public IP {PublicIP}), backend {Backend}", underlay.Name, underlay.Address, publicIp, config.Backend.Type);

        PhysicalAddressHolder mac = new(settings.Kind == BackendKind.Vxlan
            ? VtepMacState.LoadOrCreate(_options.StateDir, settings.DeviceName, rtnl.TryGetLink(settings.DeviceName)?.Mac)
            : null);
        LeaseAttrs attrs = settings.Kind == BackendKind.Vxlan
            ? LeaseAttrs.ForVxlan(publicIp, new VxlanLeaseData(settings.Vni, mac.Value))
            : LeaseAttrs.ForHostGw(publicIp);

        LeaseManager manager = new(store, config, new LeaseManagerOptions
        {
            RenewMargin = _options.SubnetLeaseRenewMargin,
            PreviousSubnets = PreviousSubnets(),
        }, _log);
        Lease lease = await manager.AcquireAsync(attrs, stop).ConfigureAwait(false);
        PeerLease own = _peerLeases.Convert(lease) ?? throw new InvalidOperationException($"lease {lease.Key} has no IPv4 subnet; IPv6-only is not supported yet");

        NodeFirewall? firewall = StartFirewall(config, lease);
        await using HealthServer? health = _options.HealthzPort > 0
            ? new HealthServer(_options.HealthzIP, _options.HealthzPort, Alive, _metrics)
            : null;
        if (health is not null)
        {
            _log.LogInformation("Serving /healthz, /readyz and /metrics on {Endpoint}", health.Endpoint);
        }

        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(stop);
        CancellationToken ct = linked.Token;
        Task watch = WatchAsync(manager, ct);
        Task renew = manager.RunRenewalAsync(ct);
        // Without a firewall there is no loop, but a completed task here would look like a loop that died.
        Task firewallLoop = firewall is null ? Task.Delay(Timeout.Infinite, ct) : FirewallLoopAsync(firewall, ct);
        Task reconcile = ReconcileLoopAsync(new Reconciler(new RtnlKernelPort(rtnl)), settings, own, underlay, mac, config, lease, ct);

        Task first = await Task.WhenAny(watch, renew, reconcile, firewallLoop).ConfigureAwait(false);
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
        foreach (Task t in new[] { watch, renew, reconcile, firewallLoop })
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
        _log.LogInformation("Stopped; the data path is left in place");
        return code;
    }

    private bool Alive() => Stopwatch.GetElapsedTime(Volatile.Read(ref _lastLoopTicks)) < (_options.ResyncPeriod * 3) + TimeSpan.FromSeconds(30);

    private async Task WatchAsync(LeaseManager manager, CancellationToken ct)
    {
        await foreach (PeerEvent e in manager.WatchPeersAsync(ct).ConfigureAwait(false))
        {
            _metrics.RecordLeaseEvent();
            lock (_peersGate)
            {
                switch (e.Kind)
                {
                    case PeerEventKind.Snapshot:
                        _peers.Clear();
                        foreach (Lease l in e.Peers)
                        {
                            _peers[l.Key] = l;
                        }
                        _haveSnapshot = true;
                        break;
                    case PeerEventKind.Added or PeerEventKind.Changed when e.Lease is not null:
                        _peers[e.Lease.Key] = e.Lease;
                        break;
                    case PeerEventKind.Removed when e.Lease is not null:
                        _peers.Remove(e.Lease.Key);
                        break;
                }
            }
            _log.LogDebug("Peer event {Kind} {Key}", e.Kind, e.Lease?.Key ?? $"{e.Peers.Count} peers");
            _wake.Writer.TryWrite(0);
        }
    }

    private async Task ReconcileLoopAsync(Reconciler reconciler, BackendSettings settings, PeerLease own, Underlay underlay,
        PhysicalAddressHolder mac, NetworkConfig config, Lease lease, CancellationToken ct)
    {
        HashSet<string> reported = new(StringComparer.Ordinal);
        SubnetEnv? written = null;
        while (!ct.IsCancellationRequested)
        {
            Volatile.Write(ref _lastLoopTicks, Stopwatch.GetTimestamp());
            List<PeerLease> peers;
            bool ready;
            lock (_peersGate)
            {
                ready = _haveSnapshot;
                peers = _peers.Values.Select(_peerLeases.Convert).OfType<PeerLease>().ToList();
            }
            TimeSpan wait = _options.ResyncPeriod;
            if (ready)
            {
                KernelPlan plan = settings.Kind == BackendKind.Vxlan
                    ? VxlanBackend.Plan(settings, own, peers, underlay, mac.Value)
                    : HostGwBackend.Plan(settings, own, peers, underlay);
                ReconcileResult result = reconciler.Reconcile(plan);
                _metrics.RecordReconcile(plan.PeerCount, plan.ObjectCount, plan.Problems.Count(p => p.Severity != ProblemSeverity.Info),
                    result.Duration, result.Errors.Count, result.DriftRepairs);
                Report(plan, result, reported);
                if (result.DeviceMac is not null && mac.Value is not null && !result.DeviceMac.Equals(mac.Value))
                {
                    _log.LogWarning("Device MAC {Actual} differs from the stable VtepMAC {Expected}; resetting it next pass", result.DeviceMac.ToColonString(), mac.Value.ToColonString());
                }
                if (result.Converged || (result.DeviceAction is DeviceAction.None or DeviceAction.Update && written is not null))
                {
                    SubnetEnv env = new()
                    {
                        Networks = config.Network is IPNetwork n ? [n] : [],
                        Subnet = Twill.Core.InterfaceAddress.FirstHost(own.Subnet),
                        Mtu = plan.Device?.Mtu ?? underlay.Mtu,
                        IpMasq = _options.IpMasq,
                    };
                    if (written is null || env.Format() != written.Format())
                    {
                        WriteSubnetEnv(env);
                        written = env;
                        _metrics.Ready = true;
                        _log.LogInformation("Data path ready: {Peers} peers, {Objects} kernel objects; wrote {SubnetFile}", plan.PeerCount, plan.ObjectCount, _options.SubnetFile);
                    }
                }
                else
                {
                    wait = TimeSpan.FromSeconds(1); // retry soon: something failed
                }
            }
            using CancellationTokenSource timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timer.CancelAfter(wait);
            try
            {
                await _wake.Reader.WaitToReadAsync(timer.Token).ConfigureAwait(false);
                _wake.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The resync period elapsed: reconcile anyway (drift repair).
            }
        }
        ct.ThrowIfCancellationRequested();
    }

    private void Report(KernelPlan plan, ReconcileResult result, HashSet<string> reported)
    {
        HashSet<string> now = new(StringComparer.Ordinal);
        foreach (PlanProblem problem in plan.Problems)
        {
            string text = problem.ToString();
            now.Add(text);
            if (reported.Contains(text))
            {
                continue;
            }
            LogLevel level = problem.Severity switch
            {
                ProblemSeverity.Info => LogLevel.Debug,
                ProblemSeverity.Warning => LogLevel.Warning,
                _ => LogLevel.Error,
            };
            _log.Log(level, "Peer {Peer}: {Problem}", problem.Peer, problem.Message);
        }
        reported.Clear();
        reported.UnionWith(now);
        if (result.DeviceAction is DeviceAction.Create or DeviceAction.Recreate or DeviceAction.Update)
        {
            _log.LogInformation("Device {Action}: {Reason}", result.DeviceAction, result.DeviceReason);
        }
        if (result.DriftRepairs > 0)
        {
            _log.LogWarning("Repaired {Count} kernel objects that drifted from the plan", result.DriftRepairs);
        }
        else if (result.Applied > 0)
        {
            _log.LogDebug("Applied {Count} kernel changes in {Ms} ms", result.Applied, result.Duration.TotalMilliseconds);
        }
        foreach (string error in result.Errors)
        {
            _log.LogError("Reconcile: {Error}", error);
        }
    }

    private void WriteSubnetEnv(SubnetEnv env)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(_options.SubnetFile));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        env.Write(_options.SubnetFile);
    }

    private NodeFirewall? StartFirewall(NetworkConfig config, Lease lease)
    {
        if (!_options.IpMasq && !_options.IptablesForwardRules)
        {
            return null;
        }
        NodeFirewall firewall = new(
            new NodeFirewallConfig(config.Network, lease.Subnets.IPv4, IpMasq: _options.IpMasq, Forward: _options.IptablesForwardRules),
            new ProcessFirewallRunner(Path.Combine(_options.StateDir, "firewall.lock")),
            config.EnableNFTables ? NodeFirewallBackend.Nftables : NodeFirewallBackend.Iptables);
        try
        {
            firewall.Apply();
            _log.LogInformation("Firewall rules applied (masquerade {IpMasq}, forward {Forward})", _options.IpMasq, _options.IptablesForwardRules);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError(e, "Applying firewall rules failed; retrying every {Period}", _options.IptablesResync);
        }
        return firewall;
    }

    private async Task FirewallLoopAsync(NodeFirewall firewall, CancellationToken ct)
    {
        using PeriodicTimer timer = new(_options.IptablesResync);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            try
            {
                if (firewall.Resync())
                {
                    _log.LogWarning("Firewall rules drifted; restored");
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _log.LogError(e, "Firewall resync failed");
            }
        }
    }

    private int RunCleanup()
    {
        int code = 0;
        try
        {
            NodeFirewall.Remove(new ProcessFirewallRunner(Path.Combine(_options.StateDir, "firewall.lock")));
            _log.LogInformation("Removed Twill's firewall rules");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError(e, "Removing firewall rules failed");
            code = 1;
        }
        if (_options.CleanupDatapath)
        {
            using RtnlConnection rtnl = RtnlConnection.Open();
            RtnlKernelPort port = new(rtnl);
            KernelState state = port.Read(null);
            IReadOnlyList<string?> results = port.Apply(state.Routes.Select(r => new KernelChange(ChangeKind.DeleteRoute, r)).ToList());
            foreach (ObservedDevice device in state.Devices)
            {
                port.DeleteDevice(device.Name);
            }
            int failed = results.Count(r => r is not null);
            _log.LogInformation("Removed {Devices} devices and {Routes} routes", state.Devices.Count, state.Routes.Count - failed);
            code = failed > 0 ? 1 : code;
        }
        return code;
    }

    /// <summary>The store the options name; an etcd store's watch breaks go to the log, or an outage would pass unseen.</summary>
    internal static ILeaseStore CreateStore(AgentOptions options, ILogger log) => options.Store switch
    {
        StoreKind.Etcd => new EtcdLeaseStore(new EtcdLeaseStoreOptions
        {
            Endpoints = options.EtcdEndpoints,
            Prefix = options.EtcdPrefix,
            CaFile = options.EtcdCaFile,
            CertFile = options.EtcdCertFile,
            KeyFile = options.EtcdKeyFile,
            Username = options.EtcdUsername,
            Password = options.EtcdPassword,
        })
        {
            WatchProblem = problem => log.LogWarning("Lease watch: {Problem}", problem),
        },
        _ => new FileLeaseStore(options.StoreDir),
    };

    private async Task<NetworkConfig> LoadConfigAsync(ILeaseStore store, CancellationToken ct)
    {
        string? json = null;
        string source = _options.NetConfigPath;
        if (_options.NetConfigPathGiven || File.Exists(_options.NetConfigPath))
        {
            json = await File.ReadAllTextAsync(_options.NetConfigPath, ct).ConfigureAwait(false);
        }
        else
        {
            json = await store.GetNetworkConfigAsync(ct).ConfigureAwait(false);
            source = store.Description + " config";
        }
        if (json is null)
        {
            throw new InvalidOperationException($"no network configuration: {_options.NetConfigPath} does not exist and {store.Description} holds none");
        }
        NetworkConfig config = NetworkConfig.Parse(json, out IReadOnlyList<string> warnings, source);
        foreach (string warning in warnings)
        {
            _log.LogWarning("{Warning}", warning);
        }
        return config;
    }

    private LeaseSubnets? PreviousSubnets()
    {
        try
        {
            return File.Exists(_options.SubnetFile) ? LeaseSubnets.FromSubnetEnv(SubnetEnv.Read(_options.SubnetFile)) : null;
        }
        catch (FormatException e)
        {
            _log.LogWarning("Ignoring unreadable {SubnetFile}: {Error}", _options.SubnetFile, e.Message);
            return null;
        }
    }

    internal static BackendSettings ToSettings(BackendConfig backend) => backend switch
    {
        VxlanBackendConfig v => new BackendSettings
        {
            Kind = BackendKind.Vxlan,
            Vni = v.Vni,
            Port = v.Port,
            Gbp = v.Gbp,
            Learning = v.Learning,
            Mtu = v.Mtu > 0 ? v.Mtu : null,
            DirectRouting = v.DirectRouting,
        },
        HostGwBackendConfig => new BackendSettings { Kind = BackendKind.HostGw },
        _ => throw new NotSupportedException($"Backend.Type '{backend.Type}' is not supported by Twill (supported: vxlan, host-gw)"),
    };

    /// <summary>The stable VtepMAC (null for host-gw).</summary>
    private sealed class PhysicalAddressHolder(System.Net.NetworkInformation.PhysicalAddress? value)
    {
        public System.Net.NetworkInformation.PhysicalAddress? Value { get; } = value;
    }
}
