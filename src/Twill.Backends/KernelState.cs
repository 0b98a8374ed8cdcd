using System.Diagnostics.CodeAnalysis;

namespace Twill.Backends;

/// <summary>A VXLAN device as the kernel has it, in the plan's terms, with its index and up state.</summary>
public sealed record ObservedDevice : VxlanDevice
{
    public ObservedDevice()
    {
    }

    /// <summary>A device the kernel holds with <paramref name="settings"/> (a fake kernel's, or one just made).</summary>
    [SetsRequiredMembers]
    public ObservedDevice(VxlanDevice settings)
        : base(settings)
    {
    }

    public int Index { get; init; }
    public bool IsUp { get; init; }
}

/// <summary>
/// What the kernel holds of Twill's objects: our VXLAN devices (every <c>flannel.*</c> vxlan device),
/// the addresses, neighbours and FDB entries on the planned device, and every route with protocol
/// Twill. Device indexes are already resolved to names.
/// </summary>
public sealed record KernelState
{
    public IReadOnlyList<ObservedDevice> Devices { get; init; } = [];
    public IReadOnlyList<PlannedAddress> Addresses { get; init; } = [];
    public IReadOnlyList<PlannedRoute> Routes { get; init; } = [];
    public IReadOnlyList<PlannedNeighbour> Neighbours { get; init; } = [];
    public IReadOnlyList<PlannedFdb> Fdb { get; init; } = [];

    /// <summary>A state with nothing of ours in it.</summary>
    public static KernelState Empty { get; } = new();
}

/// <summary>What to do to the planned device.</summary>
public enum DeviceAction
{
    /// <summary>It is as planned.</summary>
    None,

    /// <summary>It does not exist: create it.</summary>
    Create,

    /// <summary>It exists with settings the kernel cannot change (VNI, local, underlay, port, GBP, learning): delete and create.</summary>
    Recreate,

    /// <summary>It exists; MTU, MAC or up state need setting.</summary>
    Update,
}

/// <summary>The difference between a plan and the kernel: what to put (add or replace) and what to delete.</summary>
public sealed record PlanDiff
{
    public DeviceAction DeviceAction { get; init; }

    /// <summary>Why the device is recreated or updated, for the log.</summary>
    public string? DeviceReason { get; init; }

    /// <summary>Our VXLAN devices that the plan no longer wants (another VNI).</summary>
    public IReadOnlyList<ObservedDevice> DeleteDevices { get; init; } = [];

    public IReadOnlyList<PlannedAddress> AddAddresses { get; init; } = [];
    public IReadOnlyList<PlannedAddress> DeleteAddresses { get; init; } = [];
    public IReadOnlyList<PlannedRoute> PutRoutes { get; init; } = [];
    public IReadOnlyList<PlannedRoute> DeleteRoutes { get; init; } = [];
    public IReadOnlyList<PlannedNeighbour> PutNeighbours { get; init; } = [];
    public IReadOnlyList<PlannedNeighbour> DeleteNeighbours { get; init; } = [];
    public IReadOnlyList<PlannedFdb> PutFdb { get; init; } = [];
    public IReadOnlyList<PlannedFdb> DeleteFdb { get; init; } = [];

    /// <summary>True when the kernel already matches the plan.</summary>
    public bool IsEmpty => DeviceAction == DeviceAction.None && Count == 0;

    /// <summary>Number of object changes (device changes excluded).</summary>
    public int Count => DeleteDevices.Count + AddAddresses.Count + DeleteAddresses.Count + PutRoutes.Count + DeleteRoutes.Count
        + PutNeighbours.Count + DeleteNeighbours.Count + PutFdb.Count + DeleteFdb.Count;
}
