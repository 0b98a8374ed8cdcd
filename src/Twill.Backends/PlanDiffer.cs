using System.Globalization;

namespace Twill.Backends;

/// <summary>
/// Diffs a plan against the kernel's state. Pure. Only Twill's objects are ever deleted: the
/// state given holds nothing else (our devices, objects on them, routes with protocol Twill).
/// </summary>
public static class PlanDiffer
{
    public static PlanDiff Diff(KernelPlan desired, KernelState actual)
    {
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(actual);
        PlannedDevice? want = desired.Device;
        ObservedDevice? have = want is null ? null : actual.Devices.FirstOrDefault(d => d.Name == want.Name);
        List<ObservedDevice> deleteDevices = want is null ? [] : actual.Devices.Where(d => d.Name != want.Name).ToList();

        (DeviceAction action, string? reason) = want is null ? (DeviceAction.None, null) : CompareDevice(want, have);

        // A new device starts empty: whatever was on the old one is gone with it.
        bool fresh = action is DeviceAction.Create or DeviceAction.Recreate;
        string? dev = want?.Name;
        IEnumerable<PlannedAddress> haveAddresses = fresh ? actual.Addresses.Where(a => a.Device != dev) : actual.Addresses;
        IEnumerable<PlannedNeighbour> haveNeighbours = fresh ? actual.Neighbours.Where(n => n.Device != dev) : actual.Neighbours;
        IEnumerable<PlannedFdb> haveFdb = fresh ? actual.Fdb.Where(f => f.Device != dev) : actual.Fdb;
        IEnumerable<PlannedRoute> haveRoutes = fresh ? actual.Routes.Where(r => r.Device != dev) : actual.Routes;

        HashSet<PlannedAddress> wantAddresses = [.. desired.Addresses];
        HashSet<PlannedAddress> hadAddresses = [.. haveAddresses];

        // Routes are keyed by destination (one route per peer subnet in the main table); a route with the
        // same destination but another gateway or device is replaced in place, never deleted first.
        Dictionary<System.Net.IPNetwork, PlannedRoute> hadRoutes = [];
        List<PlannedRoute> extraRoutes = [];
        foreach (PlannedRoute r in haveRoutes)
        {
            if (!hadRoutes.TryAdd(r.Destination, r))
            {
                extraRoutes.Add(r);
            }
        }
        HashSet<System.Net.IPNetwork> wantRouteKeys = [.. desired.Routes.Select(r => r.Destination)];

        Dictionary<(string, System.Net.IPAddress), PlannedNeighbour> hadNeighbours = haveNeighbours
            .GroupBy(n => (n.Device, n.Address)).ToDictionary(g => g.Key, g => g.First());
        HashSet<(string, System.Net.IPAddress)> wantNeighbourKeys = [.. desired.Neighbours.Select(n => (n.Device, n.Address))];

        // FDB entries are keyed by (device, MAC, destination): a vxlan MAC can have several remotes
        // (appended entries); any remote that is not planned goes.
        HashSet<PlannedFdb> hadFdb = [.. haveFdb];
        HashSet<PlannedFdb> wantFdb = [.. desired.Fdb];

        return new PlanDiff
        {
            DeviceAction = action,
            DeviceReason = reason,
            DeleteDevices = deleteDevices,
            AddAddresses = desired.Addresses.Where(a => !hadAddresses.Contains(a)).ToList(),
            DeleteAddresses = hadAddresses.Where(a => a.Device == dev && !wantAddresses.Contains(a)).ToList(),
            PutRoutes = desired.Routes.Where(r => !hadRoutes.TryGetValue(r.Destination, out PlannedRoute? h) || h != r).ToList(),
            DeleteRoutes = hadRoutes.Values.Where(r => !wantRouteKeys.Contains(r.Destination)).Concat(extraRoutes).ToList(),
            PutNeighbours = desired.Neighbours.Where(n => !hadNeighbours.TryGetValue((n.Device, n.Address), out PlannedNeighbour? h) || h != n).ToList(),
            DeleteNeighbours = hadNeighbours.Values.Where(n => !wantNeighbourKeys.Contains((n.Device, n.Address))).ToList(),
            PutFdb = desired.Fdb.Where(f => !hadFdb.Contains(f)).ToList(),
            DeleteFdb = hadFdb.Where(f => !wantFdb.Contains(f)).ToList(),
        };
    }

    private static (DeviceAction, string?) CompareDevice(PlannedDevice want, ObservedDevice? have)
    {
        if (have is null)
        {
            return (DeviceAction.Create, $"{want.Name} does not exist");
        }
        List<string> immutable = [];
        if (have.Vni != want.Vni)
        {
            immutable.Add(Change("vni", have.Vni, want.Vni));
        }
        if (!Equals(have.Local, want.Local))
        {
            immutable.Add($"local {have.Local?.ToString() ?? "none"} -> {want.Local}");
        }
        if (have.UnderlayIndex != want.UnderlayIndex)
        {
            immutable.Add(Change("dev", have.UnderlayIndex, want.UnderlayIndex));
        }
        if (have.Port != want.Port)
        {
            immutable.Add(Change("dstport", have.Port, want.Port));
        }
        if (have.Gbp != want.Gbp)
        {
            immutable.Add($"gbp {have.Gbp} -> {want.Gbp}");
        }
        if (have.Learning != want.Learning)
        {
            immutable.Add($"learning {OnOff(have.Learning)} -> {OnOff(want.Learning)}");
        }
        if (immutable.Count > 0)
        {
            return (DeviceAction.Recreate, string.Join(", ", immutable));
        }
        List<string> mutable = [];
        if (have.Mtu != want.Mtu)
        {
            mutable.Add(Change("mtu", have.Mtu, want.Mtu));
        }
        if (want.Mac is not null && !want.Mac.Equals(have.Mac))
        {
            mutable.Add($"address {have.Mac?.ToColonString() ?? "none"} -> {want.Mac.ToColonString()}");
        }
        if (!have.IsUp)
        {
            mutable.Add("down -> up");
        }
        return mutable.Count > 0 ? (DeviceAction.Update, string.Join(", ", mutable)) : (DeviceAction.None, null);
    }

    private static string OnOff(bool on) => on ? "on" : "off";

    private static string Change(string what, int from, int to) =>
        $"{what} {from.ToString(CultureInfo.InvariantCulture)} -> {to.ToString(CultureInfo.InvariantCulture)}";
}
