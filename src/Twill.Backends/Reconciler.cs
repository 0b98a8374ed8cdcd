using System.Diagnostics;
using System.Net.NetworkInformation;

namespace Twill.Backends;

/// <summary>The outcome of one reconcile pass.</summary>
public sealed record ReconcileResult
{
    /// <summary>What happened to the device (create, recreate, update or nothing).</summary>
    public DeviceAction DeviceAction { get; init; }

    public string? DeviceReason { get; init; }

    /// <summary>Object changes applied successfully.</summary>
    public int Applied { get; init; }

    /// <summary>Changes that failed; retried on the next pass.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Changes made while the plan was the same as the previous pass's: the kernel drifted.</summary>
    public int DriftRepairs { get; init; }

    /// <summary>The device's MAC as the kernel has it after the pass (the agent persists it); null for host-gw.</summary>
    public PhysicalAddress? DeviceMac { get; init; }

    /// <summary>True when the kernel matches the plan after this pass.</summary>
    public bool Converged => Errors.Count == 0;

    public TimeSpan Duration { get; init; }
}

/// <summary>
/// Brings a namespace's kernel to a plan: reads what Twill owns, diffs, applies only the difference.
/// The same pass serves start-up (stale objects of vanished peers go), every lease event, and the
/// periodic resync (a deleted route, neighbour, FDB entry or the whole device comes back). Failures
/// of single objects are counted and logged by the caller; the next pass retries them.
/// </summary>
public sealed class Reconciler(IKernelPort kernel)
{
    private KernelPlan? _lastPlan;

    /// <summary>Runs one pass.</summary>
    public ReconcileResult Reconcile(KernelPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        long start = Stopwatch.GetTimestamp();
        bool samePlan = _lastPlan is not null && SameObjects(_lastPlan, plan);
        _lastPlan = plan;
        List<string> errors = [];
        string? deviceName = plan.Device?.Name;

        KernelState state = kernel.Read(deviceName);
        PlanDiff diff = PlanDiffer.Diff(plan, state);
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
            if (!ok)
            {
                return Finish(deviceAction, deviceReason, 0, errors, samePlan, start, null);
            }
            // Read again: the device is new or changed, and its MAC is verified against the plan only
            // now that it is up (udev may have given it another one).
            state = kernel.Read(deviceName);
            diff = PlanDiffer.Diff(plan, state);
            if (diff.DeviceAction != DeviceAction.None)
            {
                errors.Add($"device {device.Name} still differs from the plan after {deviceAction}: {diff.DeviceReason}");
            }
        }

        // Deletes first (a replaced peer's old route must not linger), then the objects routes rely on.
        List<KernelChange> changes = new(diff.Count);
        changes.AddRange(diff.DeleteRoutes.Select(r => new KernelChange(ChangeKind.DeleteRoute, r)));
        changes.AddRange(diff.DeleteNeighbours.Select(n => new KernelChange(ChangeKind.DeleteNeighbour, n)));
        changes.AddRange(diff.DeleteFdb.Select(f => new KernelChange(ChangeKind.DeleteFdb, f)));
        changes.AddRange(diff.DeleteAddresses.Select(a => new KernelChange(ChangeKind.DeleteAddress, a)));
        changes.AddRange(diff.AddAddresses.Select(a => new KernelChange(ChangeKind.AddAddress, a)));
        changes.AddRange(diff.PutFdb.Select(f => new KernelChange(ChangeKind.PutFdb, f)));
        changes.AddRange(diff.PutNeighbours.Select(n => new KernelChange(ChangeKind.PutNeighbour, n)));
        changes.AddRange(diff.PutRoutes.Select(r => new KernelChange(ChangeKind.PutRoute, r)));

        int applied = deviceChanges;
        if (changes.Count > 0)
        {
            IReadOnlyList<string?> results;
            try
            {
                results = kernel.Apply(changes);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                errors.Add($"batch of {changes.Count} changes failed: {ex.Message}");
                results = [];
            }
            for (int i = 0; i < results.Count; i++)
            {
                if (results[i] is string error)
                {
                    errors.Add($"{changes[i]}: {error}");
                }
                else
                {
                    applied++;
                }
            }
        }

        PhysicalAddress? mac = plan.Device is null ? null : state.Devices.FirstOrDefault(d => d.Name == deviceName)?.Mac;
        return Finish(deviceAction, deviceReason, applied, errors, samePlan, start, mac);
    }

    private static ReconcileResult Finish(DeviceAction action, string? reason, int applied, List<string> errors,
        bool samePlan, long start, PhysicalAddress? mac)
    {
        return new ReconcileResult
        {
            DeviceAction = action,
            DeviceReason = reason,
            Applied = applied,
            Errors = errors,
            DriftRepairs = samePlan ? applied : 0,
            DeviceMac = mac,
            Duration = Stopwatch.GetElapsedTime(start),
        };
    }

    private static bool Try(List<string> errors, string what, Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            errors.Add($"{what}: {ex.Message}");
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
