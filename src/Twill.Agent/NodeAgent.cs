using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
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
/// the current peers — a full reconcile (kernel read and diffed) at start (once the first peer
/// listing is in, so a restart never drops a peer's routes), every resync period and after any
/// error; a delta (the new plan against the last applied one, no kernel read) on lease events — and
/// writes subnet.env once the data path is ready. Each address family's data path is a
/// <see cref="DataPathStack"/>; the loop runs them all. Stopping leaves the data path in place.
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
        Readiness readiness = _metrics.Readiness;
        await using ILeaseStore store = new ObservedLeaseStore(CreateStore(_options, _log, readiness.WatchFailed), readiness);
        NetworkConfig config = await LoadConfigAsync(store, stop).ConfigureAwait(false);
        using RtnlConnection rtnl = RtnlConnection.Open();
        // Each enabled family (EnableIPv4 / EnableIPv6) gets its underlay address on one interface,
        // its own device and stable VtepMAC, and its part of the lease (Flannel's dual-stack layout).
        IReadOnlyList<AddressFamily> families = DualStack.Families(config);
        UnderlayChoice underlays = UnderlaySelector.Select(rtnl, _options, config.EnableIPv4, config.EnableIPv6);
        BackendSettings settings = ToSettings(config.Backend);
        Dictionary<AddressFamily, PhysicalAddress?> macs = [];
        foreach (AddressFamily family in families)
        {
            Underlay underlay = underlays.For(family)!;
            _log.LogInformation("Underlay {Interface} {Address} (public IP {PublicIP}), backend {Backend}, {Family}",
                underlay.Name, underlay.Address, underlays.PublicFor(family), config.Backend.Type, DualStack.Name(family));
            string device = settings.DeviceNameFor(family);
            macs[family] = settings.Kind == BackendKind.Vxlan
                ? VtepMacState.LoadOrCreate(_options.StateDir, device, rtnl.TryGetLink(device)?.Mac)
                : null;
        }
        LeaseAttrs attrs = DualStack.LeaseAttrsFor(settings, underlays,
            macs.GetValueOrDefault(AddressFamily.InterNetwork), macs.GetValueOrDefault(AddressFamily.InterNetworkV6));

        LeaseManager manager = new(store, config, new LeaseManagerOptions
        {
            RenewMargin = _options.SubnetLeaseRenewMargin,
            PreviousSubnets = PreviousSubnets(),
        }, _log);
        Lease lease = await manager.AcquireAsync(attrs, stop).ConfigureAwait(false);
        // One stack per address family: flannel.<VNI> / flannel-v6.<VNI> (or host-gw routes of that
        // family), each port reading and changing only its family's objects.
        List<DataPathStack> stacks = [.. families.Select(family => new DataPathStack(DualStack.Name(family), settings,
            DualStack.OwnInput(_peerLeases, lease, family), underlays.For(family)!, macs[family],
            new Reconciler(new RtnlKernelPort(rtnl, family)), l => _peerLeases.Convert(l, family)))];

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
        Task reconcile = ReconcileLoopAsync(stacks, config, manager, ct);

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
            _metrics.Readiness.WatchWorks();
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

    private async Task ReconcileLoopAsync(IReadOnlyList<DataPathStack> stacks, NetworkConfig config, LeaseManager manager, CancellationToken ct)
    {
        Dictionary<DataPathStack, HashSet<string>> reported = stacks.ToDictionary(s => s, _ => new HashSet<string>(StringComparer.Ordinal));
        SubnetEnv? written = null;
        long nextFull = 0; // a full pass is due now
        long? failingSince = null;
        while (!ct.IsCancellationRequested)
        {
            long now = Stopwatch.GetTimestamp();
            Volatile.Write(ref _lastLoopTicks, now);
            CheckLease(manager);
            Lease[] peers;
            bool ready;
            lock (_peersGate)
            {
                ready = _haveSnapshot;
                peers = [.. _peers.Values];
            }
            TimeSpan wait = _options.ResyncPeriod;
            if (ready)
            {
                // Events (and the bursts they come in: all of them since the last pass, coalesced by the
                // wake channel) get a delta; the resync period, start-up and failures get a full pass.
                // (A little early counts: the timer that ends the wait below may fire a hair before nextFull.)
                bool full = now + (Stopwatch.Frequency / 100) >= nextFull;
                if (full)
                {
                    nextFull = now + (long)(_options.ResyncPeriod.TotalSeconds * Stopwatch.Frequency);
                }
                List<StackPass> passes = new(stacks.Count);
                foreach (DataPathStack stack in stacks)
                {
                    StackPass pass = stack.Run(peers, full);
                    if (pass.Result.Mode == ReconcileMode.Delta && !pass.Result.Converged)
                    {
                        // The kernel is not what the last plan left (a device deleted by hand, say): read it.
                        _log.LogWarning("{Stack}: applying a lease change failed ({Count} errors, first: {Error}); running a full reconcile",
                            stack.Name, pass.Result.Errors.Count, pass.Result.Errors[0]);
                        Record(pass);
                        pass = stack.Run(peers, full: true);
                    }
                    Record(pass);
                    Report(stack, pass.Plan, pass.Result, reported[stack]);
                    passes.Add(pass);
                }
                RecordTotals(passes);
                bool converged = passes.TrueForAll(p => p.Result.Converged);
                // subnet.env waits for a clean pass; once written, it stays valid unless a device is (re)created.
                bool envValid = converged || (written is not null && passes.TrueForAll(p => p.Result.DeviceAction is DeviceAction.None or DeviceAction.Update));
                if (envValid)
                {
                    SubnetEnv env = BuildSubnetEnv(config, stacks);
                    if (written is null || env.Format() != written.Format())
                    {
                        WriteSubnetEnv(env);
                        written = env;
                        _log.LogInformation("Data path ready: {Peers} peers, {Objects} kernel objects; wrote {SubnetFile}",
                            passes.Max(p => p.Plan.PeerCount), passes.Sum(p => p.Plan.ObjectCount), _options.SubnetFile);
                    }
                }
                if (converged)
                {
                    failingSince = null;
                    _metrics.Readiness.SetDataPath(written is null ? Readiness.NotProgrammed : null);
                }
                else
                {
                    failingSince ??= now;
                    TimeSpan failing = Stopwatch.GetElapsedTime(failingSince.Value);
                    // One failed pass is retried at once; errors that outlast a resync period mean the
                    // data path is not what it should be, and the node says so.
                    if (written is null || failing >= _options.ResyncPeriod)
                    {
                        string first = passes.SelectMany(p => p.Result.Errors).FirstOrDefault() ?? "unknown error";
                        _metrics.Readiness.SetDataPath(string.Create(CultureInfo.InvariantCulture,
                            $"data path not converged: reconcile failing for {failing.TotalSeconds:F0} s: {first}"));
                    }
                    wait = TimeSpan.FromSeconds(1); // retry soon: something failed
                }
                if (converged)
                {
                    wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextFull);
                    if (wait < TimeSpan.Zero)
                    {
                        wait = TimeSpan.Zero;
                    }
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
                // The resync period elapsed (or a retry is due): the next pass is a full one.
            }
        }
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>The lease must still be valid; a renewal that keeps failing lets it expire, and the node is then not ready.</summary>
    private void CheckLease(LeaseManager manager)
    {
        Lease? current = manager.Current;
        if (current is null)
        {
            _metrics.Readiness.SetLease("no lease: it was released or lost");
        }
        else if (current.Expiration <= DateTimeOffset.UtcNow)
        {
            _metrics.Readiness.SetLease($"lease {current.Key} expired at {current.Expiration:u}: renewing it keeps failing");
        }
        else
        {
            _metrics.Readiness.SetLease(null);
        }
    }

    private void Record(StackPass pass)
    {
        ReconcileResult r = pass.Result;
        _metrics.RecordPhases(r.Mode, pass.PlanTime, r.ReadTime, r.DiffTime, r.ApplyTime);
        _log.LogDebug("{Stack}: {Mode} pass: plan {PlanMs} ms, read {ReadMs} ms, diff {DiffMs} ms, apply {ApplyMs} ms; {Applied} changes, {Errors} errors; {Gen0} gen0 collections so far",
            pass.Stack.Name, r.Mode, Ms(pass.PlanTime), Ms(r.ReadTime), Ms(r.DiffTime), Ms(r.ApplyTime), r.Applied, r.Errors.Count, GC.CollectionCount(0));
        if (r.Mode == ReconcileMode.Full && _log.IsEnabled(LogLevel.Debug))
        {
            GCMemoryInfo gc = GC.GetGCMemoryInfo();
            _log.LogDebug("Memory: resident {ResidentMb} MB, GC heap {HeapMb} MB, committed {CommittedMb} MB, {Collections} gen0/{Gen1} gen1/{Gen2} gen2 collections",
                Mb(Environment.WorkingSet), Mb(gc.HeapSizeBytes), Mb(gc.TotalCommittedBytes), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        }
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("F2", CultureInfo.InvariantCulture);

    private void RecordTotals(List<StackPass> passes)
    {
        TimeSpan duration = TimeSpan.Zero;
        foreach (StackPass p in passes)
        {
            duration += p.PlanTime + p.Result.Duration;
        }
        _metrics.RecordReconcile(passes.Max(p => p.Plan.PeerCount), passes.Sum(p => p.Plan.ObjectCount),
            passes.Sum(p => p.Plan.Problems.Count(x => x.Severity != ProblemSeverity.Info)),
            duration, passes.Sum(p => p.Result.Errors.Count), passes.Sum(p => p.Result.DriftRepairs));
    }

    /// <summary>
    /// subnet.env from the stacks: each family's stack gives its FLANNEL_*SUBNET line; FLANNEL_MTU is the
    /// smallest device MTU of all stacks, so a dual-stack pod's one MTU fits both tunnels.
    /// </summary>
    private SubnetEnv BuildSubnetEnv(NetworkConfig config, IReadOnlyList<DataPathStack> stacks)
    {
        DataPathStack? v4 = stacks.FirstOrDefault(s => s.Own.Subnet.BaseAddress.AddressFamily == AddressFamily.InterNetwork);
        DataPathStack? v6 = stacks.FirstOrDefault(s => s.Own.Subnet.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6);
        return new SubnetEnv
        {
            Networks = v4 is not null && config.Network is IPNetwork n ? [n] : [],
            Subnet = v4 is null ? null : Twill.Core.InterfaceAddress.FirstHost(v4.Own.Subnet),
            IPv6Networks = v6 is not null && config.IPv6Network is IPNetwork n6 ? [n6] : [],
            IPv6Subnet = v6 is null ? null : Twill.Core.InterfaceAddress.FirstHost(v6.Own.Subnet),
            Mtu = stacks.Min(s => s.LastPlan?.Device?.Mtu ?? s.Underlay.Mtu),
            IpMasq = _options.IpMasq,
        };
    }

    private void Report(DataPathStack stack, KernelPlan plan, ReconcileResult result, HashSet<string> reported)
    {
        if (result.DeviceMac is not null && stack.VtepMac is not null && !result.DeviceMac.Equals(stack.VtepMac))
        {
            _log.LogWarning("Device MAC {Actual} differs from the stable VtepMAC {Expected}; resetting it next pass", result.DeviceMac.ToColonString(), stack.VtepMac.ToColonString());
        }
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
            DualStack.FirewallConfig(config, lease, _options.IpMasq, _options.IptablesForwardRules),
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
            foreach (AddressFamily family in (AddressFamily[])[AddressFamily.InterNetwork, AddressFamily.InterNetworkV6])
            {
                RtnlKernelPort port = new(rtnl, family);
                KernelState state = port.Read(null);
                IReadOnlyList<KernelFailure?> results = port.Apply([.. state.Routes.Select(r => new KernelChange.DeleteRoute(r))]);
                foreach (ObservedDevice device in state.Devices)
                {
                    port.DeleteDevice(device.Name);
                }
                int failed = results.Count(r => r is not null);
                _log.LogInformation("Removed {Devices} {Family} devices and {Routes} routes", state.Devices.Count, DualStack.Name(family), state.Routes.Count - failed);
                code = failed > 0 ? 1 : code;
            }
        }
        return code;
    }

    /// <summary>The store the options name; an etcd store's watch breaks go to the log, or an outage would pass unseen.</summary>
    internal static ILeaseStore CreateStore(AgentOptions options, ILogger log, Action<string>? watchProblem = null) => options.Store switch
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
            WatchProblem = problem =>
            {
                log.LogWarning("Lease watch: {Problem}", problem);
                watchProblem?.Invoke(problem);
            },
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

    internal static BackendSettings ToSettings(BackendConfig backend) => BackendSettings.From(backend);
}
