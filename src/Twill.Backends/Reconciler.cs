using System.Diagnostics;
using System.Net.NetworkInformation;
using Twill.Netlink;

namespace Twill.Backends;

/// <summary>The outcome of one reconcile pass.</summary>
public sealed record ReconcileResult
{
    /// <summary>What happened to the device (create, recreate, update or nothing).</summary>
    public DeviceAction DeviceAction { get; init; }

    public string? DeviceReason { get; init; }

    /// <summary>Object changes applied successfully.</summary>
    public int Applied { get; init; }

    /// <summary>Changes that failed, with the kernel's errno where it gave one; retried on the next pass.</summary>
    public IReadOnlyList<ReconcileFailure> Failures { get; init; } = [];

    /// <summary><see cref="Failures"/> as text, one line each: "what: why".</summary>
    public IReadOnlyList<string> Errors => [.. Failures.Select(f => f.ToString())];

    /// <summary>Changes made while the plan was the same as the previous pass's: the kernel drifted.</summary>
    public int DriftRepairs { get; init; }

    /// <summary>The device's MAC as the kernel has it after the pass (the agent persists it); null for host-gw.</summary>
    public PhysicalAddress? DeviceMac { get; init; }

    /// <summary>True when the kernel matches the plan after this pass.</summary>
    public bool Converged => Failures.Count == 0;

    public TimeSpan Duration { get; init; }

    /// <summary>Full (kernel read and diffed) or delta (diffed against the last applied plan, no read).</summary>
    public ReconcileMode Mode { get; init; }

    /// <summary>Time spent reading the kernel (zero for a delta).</summary>
    public TimeSpan ReadTime { get; init; }

    /// <summary>Time spent diffing (plan against kernel, or plan against the last applied plan).</summary>
    public TimeSpan DiffTime { get; init; }

    /// <summary>Time spent changing the kernel (device and batch).</summary>
    public TimeSpan ApplyTime { get; init; }
}

/// <summary>One thing a reconcile pass could not do.</summary>
/// <param name="What">The change or device operation, e.g. <c>PutRoute 10.244.2.0/24 via … dev flannel.1</c>.</param>
/// <param name="Why">The failure, with the kernel's errno when it gave one.</param>
public sealed record ReconcileFailure(string What, KernelFailure Why)
{
    /// <summary>The kernel's error number, when the kernel refused.</summary>
    public Errno? Errno => Why.Errno;

    public override string ToString() => $"{What}: {Why.Message}";
}

/// <summary>How a reconcile pass learned what the kernel holds.</summary>
public enum ReconcileMode
{
    /// <summary>Read Twill's objects from the kernel and diffed the plan against them (start, resync, after errors, device changes).</summary>
    Full,

    /// <summary>Diffed the plan against the last plan applied without error; the kernel was not read (lease events).</summary>
    Delta,
}

/// <summary>
/// Brings a namespace's kernel to a plan, in one of two ways. A full pass (<see cref="Reconcile"/>)
/// reads what Twill owns, diffs, applies only the difference: it serves start-up (stale objects of
/// vanished peers go), the periodic resync (a deleted route, neighbour, FDB entry or the whole device
/// comes back) and recovery after errors. A delta pass (<see cref="ApplyDelta"/>) serves lease events:
/// reading thousands of kernel objects to learn about one peer is what made events slow, so it diffs
/// the new plan against the last plan applied without error — the kernel held exactly that after the
/// pass — and applies the difference in one batch. Anything a delta cannot know (drift since the last
/// full pass) is the next resync's job. Failures of single objects are reported to the caller; after
/// any failure the next pass is a full one.
/// </summary>
public sealed class Reconciler(IKernelPort kernel)
{
    private KernelPlan? _lastPlan;
    private KernelPlan? _applied;
    private PhysicalAddress? _deviceMac;

    /// <summary>
    /// The last plan the kernel was brought to without error, or null when the kernel's state is not
    /// known (nothing applied yet, or the last pass failed): then only a full pass is possible.
    /// </summary>
    public KernelPlan? Applied => _applied;

    /// <summary>Forgets the applied plan, so the next pass is a full one (the caller saw the kernel change).</summary>
    public void Forget() => _applied = null;

    /// <summary>
    /// Runs a delta pass when the kernel is known to hold the last applied plan and <paramref name="plan"/>
    /// wants the same device; otherwise a full pass (<see cref="ReconcileResult.Mode"/> says which ran).
    /// </summary>
    public ReconcileResult ApplyDelta(KernelPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (_applied is not KernelPlan last || !PlanDiffer.SameDevice(plan, last))
        {
            return Reconcile(plan);
        }
        long start = Stopwatch.GetTimestamp();
        PlanDiff diff = PlanDiffer.Delta(plan, last);
        long diffed = Stopwatch.GetTimestamp();
        List<ReconcileFailure> errors = [];
        int applied = ApplyChanges(diff, errors, 0);
        long done = Stopwatch.GetTimestamp();
        _lastPlan = plan;
        _applied = errors.Count == 0 ? plan : null;
        return new ReconcileResult
        {
            Mode = ReconcileMode.Delta,
            Applied = applied,
            Failures = errors,
            DeviceMac = _deviceMac, // as the last full pass saw it; a delta leaves the device alone
            Duration = Stopwatch.GetElapsedTime(start, done),
            DiffTime = Stopwatch.GetElapsedTime(start, diffed),
            ApplyTime = Stopwatch.GetElapsedTime(diffed, done),
        };
    }

    /// <summary>Runs one full pass: read the kernel, diff, apply.</summary>
    public ReconcileResult Reconcile(KernelPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        long start = Stopwatch.GetTimestamp();
        bool samePlan = _lastPlan is not null && SameObjects(_lastPlan, plan);
        _lastPlan = plan;
        _applied = null;
        List<ReconcileFailure> errors = [];
        string? deviceName = plan.Device?.Name;
        Phases phases = new();

        long t = Stopwatch.GetTimestamp();
        KernelState state = kernel.Read(deviceName);
        phases.Read += Stopwatch.GetElapsedTime(t);
        t = Stopwatch.GetTimestamp();
        PlanDiff diff = PlanDiffer.Diff(plan, state);
        phases.Diff += Stopwatch.GetElapsedTime(t);
        t = Stopwatch.GetTimestamp();
        DeviceAction deviceAction = diff.DeviceAction;
        string? deviceReason = diff.DeviceReason;
        int deviceChanges = 0;

        foreach (ObservedDevice stale in diff.DeleteDevices)
        {
            Try(errors, $"delete device {stale.Name}", () => kernel.DeleteDevice(stale.Name));
            deviceChanges++;
        }
        if (plan.Device is PlannedDevice device && deviceAction != DeviceAction.None)
        {
            bool ok = deviceAction switch
            {
                DeviceAction.Create => Try(errors, $"create {device}", () => kernel.CreateDevice(device)),
                DeviceAction.Recreate => Try(errors, $"recreate {device} ({diff.DeviceReason})", () =>
                {
                    kernel.DeleteDevice(device.Name);
                    kernel.CreateDevice(device);
                }),
                _ => Try(errors, $"update {device.Name} ({diff.DeviceReason})", () => kernel.UpdateDevice(device.Name, device.Mtu, device.Mac)),
            };
            deviceChanges++;
            phases.Apply += Stopwatch.GetElapsedTime(t);
            if (!ok)
            {
                return Finish(deviceAction, deviceReason, 0, errors, samePlan, start, null, phases, plan);
            }
            // Read again: the device is new or changed, and its MAC is verified against the plan only
            // now that it is up (udev may have given it another one).
            t = Stopwatch.GetTimestamp();
            state = kernel.Read(deviceName);
            phases.Read += Stopwatch.GetElapsedTime(t);
            t = Stopwatch.GetTimestamp();
            diff = PlanDiffer.Diff(plan, state);
            phases.Diff += Stopwatch.GetElapsedTime(t);
            if (diff.DeviceAction != DeviceAction.None)
            {
                errors.Add(new($"device {device.Name}", new KernelFailure($"still differs from the plan after {deviceAction}: {diff.DeviceReason}")));
            }
            t = Stopwatch.GetTimestamp();
        }
        else
        {
            phases.Apply += Stopwatch.GetElapsedTime(t);
            t = Stopwatch.GetTimestamp();
        }

        int applied = ApplyChanges(diff, errors, deviceChanges);
        phases.Apply += Stopwatch.GetElapsedTime(t);

        PhysicalAddress? mac = plan.Device is null ? null : state.Devices.FirstOrDefault(d => d.Name == deviceName)?.Mac;
        return Finish(deviceAction, deviceReason, applied, errors, samePlan, start, mac, phases, plan);
    }

    /// <summary>Applies a diff's object changes in one batch; returns how many succeeded (plus <paramref name="applied"/>).</summary>
    private int ApplyChanges(PlanDiff diff, List<ReconcileFailure> errors, int applied)
    {
        // Deletes first (a replaced peer's old route must not linger), then the objects routes rely on.
        List<KernelChange> changes = new(diff.Count);
        changes.AddRange(diff.DeleteRoutes.Select(r => new KernelChange.DeleteRoute(r)));
        changes.AddRange(diff.DeleteNeighbours.Select(n => new KernelChange.DeleteNeighbour(n)));
        changes.AddRange(diff.DeleteFdb.Select(f => new KernelChange.DeleteFdb(f)));
        changes.AddRange(diff.DeleteAddresses.Select(a => new KernelChange.DeleteAddress(a)));
        changes.AddRange(diff.AddAddresses.Select(a => new KernelChange.AddAddress(a)));
        changes.AddRange(diff.PutFdb.Select(f => new KernelChange.PutFdb(f)));
        changes.AddRange(diff.PutNeighbours.Select(n => new KernelChange.PutNeighbour(n)));
        changes.AddRange(diff.PutRoutes.Select(r => new KernelChange.PutRoute(r)));

        if (changes.Count > 0)
        {
            IReadOnlyList<KernelFailure?> results;
            try
            {
                results = kernel.Apply(changes);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                errors.Add(new($"batch of {changes.Count} changes failed", KernelFailure.From(ex)));
                results = [];
            }
            for (int i = 0; i < results.Count; i++)
            {
                if (results[i] is KernelFailure failure)
                {
                    errors.Add(new(changes[i].ToString(), failure));
                }
                else
                {
                    applied++;
                }
            }
        }

        return applied;
    }

    private ReconcileResult Finish(DeviceAction action, string? reason, int applied, List<ReconcileFailure> errors,
        bool samePlan, long start, PhysicalAddress? mac, Phases phases, KernelPlan plan)
    {
        // Only a clean pass makes the plan a model of the kernel that deltas may build on.
        _applied = errors.Count == 0 ? plan : null;
        _deviceMac = mac;
        return new ReconcileResult
        {
            Mode = ReconcileMode.Full,
            DeviceAction = action,
            DeviceReason = reason,
            Applied = applied,
            Failures = errors,
            DriftRepairs = samePlan ? applied : 0,
            DeviceMac = mac,
            Duration = Stopwatch.GetElapsedTime(start),
            ReadTime = phases.Read,
            DiffTime = phases.Diff,
            ApplyTime = phases.Apply,
        };
    }

    /// <summary>Time per phase of a full pass.</summary>
    private sealed class Phases
    {
        public TimeSpan Read { get; set; }
        public TimeSpan Diff { get; set; }
        public TimeSpan Apply { get; set; }
    }

    private static bool Try(List<ReconcileFailure> errors, string what, Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            errors.Add(new(what, KernelFailure.From(ex)));
            return false;
        }
    }

    /// <summary>Two plans that ask for the same objects (problems aside).</summary>
    public static bool SameObjects(KernelPlan a, KernelPlan b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Equals(a.Device, b.Device)
            && a.Addresses.SequenceEqual(b.Addresses)
            && a.Routes.SequenceEqual(b.Routes)
            && a.Neighbours.SequenceEqual(b.Neighbours)
            && a.Fdb.SequenceEqual(b.Fdb);
    }
}
