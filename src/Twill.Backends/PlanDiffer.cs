using System.Globalization;
using Twill.Core;

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

        Dictionary<(string, System.Net.IPAddress), PlannedNeighbour> hadNeighbours = [];
        foreach (PlannedNeighbour n in haveNeighbours)
        {
            hadNeighbours.TryAdd((n.Device, n.Address), n); // the first of duplicates, as GroupBy/First kept
        }
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

    /// <summary>
    /// The difference between two plans, for a kernel known to hold exactly <paramref name="applied"/>
    /// (the last plan applied without error): what a lease event changes, without reading the kernel.
    /// Objects are keyed as in <see cref="Diff"/>, so applying the result has the same effect a full
    /// diff against that kernel would. Devices are not compared: plans whose devices differ need
    /// <see cref="Diff"/> against the kernel (the caller checks <see cref="SameDevice"/>).
    /// </summary>
    /// <remarks>
    /// Plans list peers in key order and hold one object per key (admission drops overlapping subnets
    /// and shared VtepMACs), so an event that changes a few peers leaves long runs of equal objects at
    /// the same places in both lists. The common head and tail are skipped by comparing objects in
    /// place; only the window between them is keyed. An event at 5,000 peers then costs comparisons,
    /// not hashing and indexing 15,000 objects. (A key found in the window cannot also be in the head
    /// or tail of the other plan: the equal object there would carry the same key twice in one plan.)
    /// </remarks>
    public static PlanDiff Delta(KernelPlan desired, KernelPlan applied)
    {
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(applied);
        if (!SameDevice(desired, applied))
        {
            throw new ArgumentException($"plans differ in their device ({applied.Device?.ToString() ?? "none"} -> {desired.Device?.ToString() ?? "none"}); a delta cannot change devices", nameof(desired));
        }
        string? dev = desired.Device?.Name;
        List<PlannedAddress> addAddresses = [], deleteAddresses = [];
        List<PlannedRoute> putRoutes = [], deleteRoutes = [];
        List<PlannedNeighbour> putNeighbours = [], deleteNeighbours = [];
        List<PlannedFdb> putFdb = [], deleteFdb = [];
        Window(desired.Addresses, applied.Addresses, a => a, addAddresses, deleteAddresses);
        deleteAddresses.RemoveAll(a => a.Device != dev);
        Window(desired.Routes, applied.Routes, r => r.Destination, putRoutes, deleteRoutes);
        Window(desired.Neighbours, applied.Neighbours, n => (n.Device, n.Address), putNeighbours, deleteNeighbours);
        Window(desired.Fdb, applied.Fdb, f => f, putFdb, deleteFdb);
        return new PlanDiff
        {
            AddAddresses = addAddresses,
            DeleteAddresses = deleteAddresses,
            PutRoutes = putRoutes,
            DeleteRoutes = deleteRoutes,
            PutNeighbours = putNeighbours,
            DeleteNeighbours = deleteNeighbours,
            PutFdb = putFdb,
            DeleteFdb = deleteFdb,
        };
    }

    /// <summary>
    /// One kind of object: skips the equal head and tail, then keys the window in between. Puts the
    /// wanted objects that are new or differ from the held one of their key; deletes held objects whose
    /// key is no longer wanted.
    /// </summary>
    private static void Window<T, TKey>(IReadOnlyList<T> want, IReadOnlyList<T> had, Func<T, TKey> key, List<T> put, List<T> delete)
        where T : class, IEquatable<T>
        where TKey : notnull
    {
        int head = 0;
        int wantEnd = want.Count, hadEnd = had.Count;
        while (head < wantEnd && head < hadEnd && want[head].Equals(had[head]))
        {
            head++;
        }
        while (wantEnd > head && hadEnd > head && want[wantEnd - 1].Equals(had[hadEnd - 1]))
        {
            wantEnd--;
            hadEnd--;
        }
        if (head == wantEnd && head == hadEnd)
        {
            return;
        }
        Dictionary<TKey, T> held = new(hadEnd - head);
        for (int i = head; i < hadEnd; i++)
        {
            held.TryAdd(key(had[i]), had[i]);
        }
        HashSet<TKey> wanted = new(wantEnd - head);
        for (int i = head; i < wantEnd; i++)
        {
            T w = want[i];
            TKey k = key(w);
            wanted.Add(k);
            if (!held.TryGetValue(k, out T? h) || !h.Equals(w))
            {
                put.Add(w);
            }
        }
        foreach ((TKey k, T h) in held)
        {
            if (!wanted.Contains(k))
            {
                delete.Add(h);
            }
        }
    }

    /// <summary>True when both plans want the same device (or both none): a delta between them is possible.</summary>
    public static bool SameDevice(KernelPlan a, KernelPlan b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Equals(a.Device, b.Device);
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
            immutable.Add($"local {have.Local} -> {want.Local}");
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
