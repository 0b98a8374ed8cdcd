using System.Net.NetworkInformation;

namespace Twill.Backends.Tests;

/// <summary>
/// A kernel in memory with the semantics the reconciler relies on: deleting a device drops every
/// object on it; a device's dstport cannot change; replace overwrites by key.
/// </summary>
internal sealed class InMemoryKernel : IKernelPort
{
    private int _nextIndex = 10;

    public Dictionary<string, ObservedDevice> Devices { get; } = [];
    public HashSet<PlannedAddress> Addresses { get; } = [];
    public Dictionary<System.Net.IPNetwork, PlannedRoute> Routes { get; } = [];
    public Dictionary<(string, System.Net.IPAddress), PlannedNeighbour> Neighbours { get; } = [];
    public HashSet<PlannedFdb> Fdb { get; } = [];

    /// <summary>A change that should fail, to check per-object errors.</summary>
    public Func<KernelChange, KernelFailure?> Fail { get; set; } = _ => null;

    public int ApplyCalls { get; private set; }

    /// <summary>Kernel reads (dumps) so far: a delta pass must not read.</summary>
    public int ReadCalls { get; private set; }

    public KernelState Read(string? deviceName)
    {
        ReadCalls++;
        return State(deviceName);
    }

    /// <summary>The state as Read returns it, without counting a read.</summary>
    public KernelState State(string? deviceName) => new()
    {
        Devices = Devices.Values.ToList(),
        Addresses = Addresses.Where(a => a.Device == deviceName).ToList(),
        Routes = Routes.Values.ToList(),
        Neighbours = Neighbours.Values.Where(n => n.Device == deviceName).ToList(),
        Fdb = Fdb.Where(f => f.Device == deviceName).ToList(),
    };

    public void CreateDevice(PlannedDevice device)
    {
        if (Devices.ContainsKey(device.Name))
        {
            throw new InvalidOperationException("exists");
        }
        Devices[device.Name] = new ObservedDevice(device)
        {
            Index = _nextIndex++, IsUp = true,
            Mac = device.Mac ?? PhysicalAddress.Parse("02:42:00:00:00:" + _nextIndex.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)),
        };
    }

    public void DeleteDevice(string name)
    {
        Devices.Remove(name);
        Addresses.RemoveWhere(a => a.Device == name);
        Fdb.RemoveWhere(f => f.Device == name);
        foreach (var key in Neighbours.Where(kv => kv.Value.Device == name).Select(kv => kv.Key).ToList())
        {
            Neighbours.Remove(key);
        }
        foreach (var key in Routes.Where(kv => kv.Value.Device == name).Select(kv => kv.Key).ToList())
        {
            Routes.Remove(key);
        }
    }

    public void UpdateDevice(string name, int mtu, PhysicalAddress? mac) =>
        Devices[name] = Devices[name] with { Mtu = mtu, Mac = mac ?? Devices[name].Mac, IsUp = true };

    public IReadOnlyList<KernelFailure?> Apply(IReadOnlyList<KernelChange> changes)
    {
        ApplyCalls++;
        List<KernelFailure?> results = [];
        foreach (KernelChange c in changes)
        {
            KernelFailure? error = Fail(c);
            if (error is null)
            {
                switch (c)
                {
                    case KernelChange.AddAddress(var a): Addresses.Add(a); break;
                    case KernelChange.DeleteAddress(var a): Addresses.Remove(a); break;
                    case KernelChange.PutRoute(var r): Routes[r.Destination] = r; break;
                    case KernelChange.DeleteRoute(var r): Routes.Remove(r.Destination); break;
                    case KernelChange.PutNeighbour(var n): Neighbours[(n.Device, n.Address)] = n; break;
                    case KernelChange.DeleteNeighbour(var n): Neighbours.Remove((n.Device, n.Address)); break;
                    case KernelChange.PutFdb(var f): Fdb.Add(f); break;
                    case KernelChange.DeleteFdb(var f): Fdb.Remove(f); break;
                }
            }
            results.Add(error);
        }
        return results;
    }
}
