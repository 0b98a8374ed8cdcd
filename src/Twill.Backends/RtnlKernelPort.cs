using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Netlink;

namespace Twill.Backends;

/// <summary>
/// <see cref="IKernelPort"/> over rtnetlink, in the namespace the connection was opened in. Twill's
/// objects are: VXLAN devices named <c>flannel.*</c>; on the planned device, its addresses, its
/// permanent neighbours and its FDB entries with a remote; in the main table, routes with protocol
/// Twill. Nothing else is read, so nothing else can ever be deleted.
/// </summary>
public sealed class RtnlKernelPort(RtnlConnection connection) : IKernelPort
{
    /// <summary>Prefix of the device names Twill (and Flannel) give VXLAN devices.</summary>
    public const string DevicePrefix = "flannel.";

    private readonly Dictionary<string, int> _indexByName = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _nameByIndex = [];

    public KernelState Read(string? deviceName)
    {
        IReadOnlyList<Link> links = connection.DumpLinks();
        _indexByName.Clear();
        _nameByIndex.Clear();
        List<ObservedDevice> devices = [];
        foreach (Link link in links)
        {
            _indexByName[link.Name] = link.Index;
            _nameByIndex[link.Index] = link.Name;
            if (link.Kind == "vxlan" && link.Vxlan is VxlanSpec v && link.Name.StartsWith(DevicePrefix, StringComparison.Ordinal))
            {
                devices.Add(new ObservedDevice
                {
                    Name = link.Name,
                    Index = link.Index,
                    Vni = v.Vni,
                    Local = v.Local,
                    UnderlayIndex = v.UnderlayIndex ?? 0,
                    Port = v.Port,
                    Gbp = v.Gbp,
                    Learning = v.Learning,
                    Mtu = link.Mtu,
                    Mac = link.Mac,
                    IsUp = link.IsUp,
                });
            }
        }

        List<PlannedAddress> addresses = [];
        List<PlannedNeighbour> neighbours = [];
        List<PlannedFdb> fdb = [];
        if (deviceName is not null && _indexByName.TryGetValue(deviceName, out int index))
        {
            foreach (IfAddress a in connection.DumpAddresses(AddressFamily.InterNetwork, index))
            {
                addresses.Add(new PlannedAddress(deviceName, a.Address, a.PrefixLength));
            }
            foreach (Neighbour n in connection.DumpNeighbours(AddressFamily.InterNetwork, index))
            {
                // Only permanent entries are ours; the kernel's own (incomplete, failed) come and go.
                if ((n.State & NeighbourState.Permanent) != 0 && n.Mac is not null && n.Index == index)
                {
                    neighbours.Add(new PlannedNeighbour(deviceName, n.Address, n.Mac));
                }
            }
            foreach (FdbEntry f in connection.DumpFdb(index))
            {
                if (f.Destination is not null && f.Index == index)
                {
                    fdb.Add(new PlannedFdb(deviceName, f.Mac, f.Destination));
                }
            }
        }

        List<PlannedRoute> routes = [];
        foreach (Route r in connection.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main, RouteProtocol.Twill))
        {
            if (r.Protocol != RouteProtocol.Twill || r.Table != RouteTable.Main)
            {
                continue;
            }
            string device = r.OutputIndex is int oif && _nameByIndex.TryGetValue(oif, out string? name)
                ? name
                : "if" + (r.OutputIndex ?? 0).ToString(CultureInfo.InvariantCulture);
            routes.Add(new PlannedRoute(r.Destination, r.Gateway ?? IPAddress.Any, device, r.OnLink));
        }

        return new KernelState { Devices = devices, Addresses = addresses, Routes = routes, Neighbours = neighbours, Fdb = fdb };
    }

    public void CreateDevice(PlannedDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Link link = connection.AddVxlan(new VxlanSpec
        {
            Name = device.Name,
            Vni = device.Vni,
            Local = device.Local,
            UnderlayIndex = device.UnderlayIndex,
            Port = device.Port,
            Learning = device.Learning,
            Gbp = device.Gbp,
            Mtu = device.Mtu,
            Mac = device.Mac,
        });
        connection.SetLinkUp(link.Index);
        // Set the MAC again once up: udev/systemd (MACAddressPolicy=persistent|random) may have
        // rewritten it when the device appeared; the reconciler verifies it on its next read.
        if (device.Mac is not null && !device.Mac.Equals(connection.GetLink(link.Index).Mac))
        {
            connection.SetMac(link.Index, device.Mac);
        }
    }

    public void DeleteDevice(string name)
    {
        if (connection.TryGetLink(name) is Link link)
        {
            connection.DeleteLink(link.Index);
        }
    }

    public void UpdateDevice(string name, int mtu, PhysicalAddress? mac)
    {
        Link link = connection.GetLink(name);
        if (link.Mtu != mtu)
        {
            connection.SetMtu(link.Index, mtu);
        }
        if (mac is not null && !mac.Equals(link.Mac))
        {
            connection.SetMac(link.Index, mac);
        }
        if (!link.IsUp)
        {
            connection.SetLinkUp(link.Index);
        }
    }

    public IReadOnlyList<string?> Apply(IReadOnlyList<KernelChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        string?[] results = new string?[changes.Count];
        List<int> positions = new(changes.Count);
        RtnlBatch batch = connection.CreateBatch();
        for (int i = 0; i < changes.Count; i++)
        {
            KernelChange change = changes[i];
            if (!TryQueue(batch, change))
            {
                results[i] = $"device of {change.Target} does not exist";
                continue;
            }
            positions.Add(i);
        }
        RtnlBatchResult outcome = batch.Execute();
        foreach (RtnlBatchFailure failure in outcome.Failures)
        {
            int i = positions[failure.Position];
            // Deleting what is already gone is success: the kernel is as we want it.
            bool gone = failure.Error.Errno is Errno.ESRCH or Errno.ENOENT or Errno.EADDRNOTAVAIL or Errno.ENODEV
                && changes[i].Kind is ChangeKind.DeleteRoute or ChangeKind.DeleteNeighbour or ChangeKind.DeleteFdb or ChangeKind.DeleteAddress;
            results[i] = gone ? null : failure.Error.Message;
        }
        return results;
    }

    private bool TryQueue(RtnlBatch batch, KernelChange change)
    {
        switch (change.Target)
        {
            case PlannedAddress a:
                if (!TryIndex(a.Device, out int ai)) { return false; }
                if (change.Kind == ChangeKind.AddAddress)
                {
                    batch.ReplaceAddress(ai, a.Address, a.PrefixLength);
                }
                else
                {
                    batch.DeleteAddress(ai, a.Address, a.PrefixLength);
                }
                return true;
            case PlannedRoute r:
                if (!TryIndex(r.Device, out int ri)) { return false; }
                Route route = new(r.Destination)
                {
                    Gateway = r.Gateway.Equals(IPAddress.Any) ? null : r.Gateway,
                    OutputIndex = ri,
                    OnLink = r.OnLink,
                    Protocol = RouteProtocol.Twill,
                    Table = RouteTable.Main,
                };
                if (change.Kind == ChangeKind.PutRoute)
                {
                    batch.ReplaceRoute(route);
                }
                else
                {
                    batch.DeleteRoute(route);
                }
                return true;
            case PlannedNeighbour n:
                if (!TryIndex(n.Device, out int ni)) { return false; }
                Neighbour neighbour = new(ni, n.Address, n.Mac) { State = NeighbourState.Permanent };
                if (change.Kind == ChangeKind.PutNeighbour)
                {
                    batch.ReplaceNeighbour(neighbour);
                }
                else
                {
                    batch.DeleteNeighbour(neighbour);
                }
                return true;
            case PlannedFdb f:
                if (!TryIndex(f.Device, out int fi)) { return false; }
                FdbEntry entry = new(fi, f.Mac) { Destination = f.Destination, State = NeighbourState.Permanent, Flags = NeighbourFlags.Self };
                if (change.Kind == ChangeKind.PutFdb)
                {
                    batch.ReplaceFdb(entry);
                }
                else
                {
                    batch.DeleteFdb(entry);
                }
                return true;
            default:
                throw new ArgumentException($"unknown change target {change.Target.GetType().Name}", nameof(change));
        }
    }

    private bool TryIndex(string device, out int index)
    {
        if (_indexByName.TryGetValue(device, out index))
        {
            return true;
        }
        if (device.StartsWith("if", StringComparison.Ordinal) && int.TryParse(device.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out index))
        {
            return true;
        }
        if (connection.TryGetLink(device) is Link link)
        {
            index = link.Index;
            _indexByName[device] = index;
            return true;
        }
        return false;
    }
}
