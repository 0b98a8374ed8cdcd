using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Netlink;

namespace Twill.Backends;

/// <summary>
/// <see cref="IKernelPort"/> over rtnetlink, in the namespace the connection was opened in, for one
/// address family. Twill's objects of that family are: VXLAN devices named <c>flannel.*</c> (IPv4) or
/// <c>flannel-v6.*</c> (IPv6); on the planned device, its addresses of the family (not the kernel's
/// IPv6 link-local one), its permanent neighbours of the family (ARP or NDP entries) and its FDB
/// entries with a remote; in the main table, routes of the family with protocol Twill. Nothing else is
/// read, so nothing else can ever be deleted: the IPv4 and IPv6 reconcilers of a dual-stack node each
/// see only their own objects and never remove each other's.
/// </summary>
public sealed class RtnlKernelPort : IKernelPort
{
    /// <summary>Prefix of the device names Twill (and Flannel) give IPv4 VXLAN devices.</summary>
    public const string DevicePrefix = BackendSettings.DevicePrefix;

    private readonly RtnlConnection _connection;
    private readonly string _devicePrefix;
    private readonly Dictionary<string, int> _indexByName = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _nameByIndex = [];

    /// <summary>A port for the IPv4 data path (<c>flannel.*</c>, IPv4 routes and neighbours).</summary>
    public RtnlKernelPort(RtnlConnection connection)
        : this(connection, AddressFamily.InterNetwork)
    {
    }

    /// <summary>A port for the data path of <paramref name="family"/>.</summary>
    public RtnlKernelPort(RtnlConnection connection, AddressFamily family)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _devicePrefix = BackendSettings.DevicePrefixFor(family);
        Family = family;
    }

    /// <summary>The address family whose objects this port reads and changes.</summary>
    public AddressFamily Family { get; }

    public KernelState Read(string? deviceName)
    {
        IReadOnlyList<Link> links = _connection.DumpLinks();
        _indexByName.Clear();
        _nameByIndex.Clear();
        List<ObservedDevice> devices = [];
        foreach (Link link in links)
        {
            _indexByName[link.Name] = link.Index;
            _nameByIndex[link.Index] = link.Name;
            if (link.Kind == "vxlan" && link.Vxlan is VxlanSpec v && link.Name.StartsWith(_devicePrefix, StringComparison.Ordinal))
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
            foreach (IfAddress a in _connection.DumpAddresses(Family, index))
            {
                if (a.Index != index || a.Address.IsIPv6LinkLocal)
                {
                    // The kernel gives every IPv6 device an fe80:: address; it is not ours to remove.
                    continue;
                }
                addresses.Add(new PlannedAddress(deviceName, a.Address, a.PrefixLength));
            }
            foreach (Neighbour n in _connection.DumpNeighbours(Family, index))
            {
                // Only permanent entries are ours; the kernel's own (incomplete, failed) come and go.
                if ((n.State & NeighbourState.Permanent) != 0 && n.Mac is not null && n.Index == index)
                {
                    neighbours.Add(new PlannedNeighbour(deviceName, n.Address, n.Mac));
                }
            }
            foreach (FdbEntry f in _connection.DumpFdb(index))
            {
                if (f.Destination is not null && f.Index == index && f.Destination.AddressFamily == Family)
                {
                    fdb.Add(new PlannedFdb(deviceName, f.Mac, f.Destination));
                }
            }
        }

        List<PlannedRoute> routes = [];
        foreach (Route r in _connection.DumpRoutes(Family, RouteTable.Main, RouteProtocol.Twill))
        {
            if (r.Protocol != RouteProtocol.Twill || r.Table != RouteTable.Main || r.Destination.BaseAddress.AddressFamily != Family)
            {
                continue;
            }
            if (r.NextHops is { Count: > 0 } hops)
            {
                // ECMP (the bgp backend's imported routes): every path on one device, as planned.
                routes.Add(new PlannedRoute(r.Destination, hops[0].Gateway, DeviceName(hops[0].OutputIndex), hops[0].OnLink)
                {
                    MoreGateways = [.. hops.Skip(1).Select(h => h.Gateway)],
                });
                continue;
            }
            routes.Add(new PlannedRoute(r.Destination, r.Gateway ?? Unspecified, DeviceName(r.OutputIndex ?? 0), r.OnLink));
        }

        return new KernelState { Devices = devices, Addresses = addresses, Routes = routes, Neighbours = neighbours, Fdb = fdb };
    }

    public void CreateDevice(PlannedDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        RequireFamily(device.Local, device);
        Link link = _connection.AddVxlan(new VxlanSpec
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
        _connection.SetLinkUp(link.Index);
        // Set the MAC again once up: udev/systemd (MACAddressPolicy=persistent|random) may have
        // rewritten it when the device appeared; the reconciler verifies it on its next read.
        if (device.Mac is not null && !device.Mac.Equals(_connection.GetLink(link.Index).Mac))
        {
            _connection.SetMac(link.Index, device.Mac);
        }
    }

    public void DeleteDevice(string name)
    {
        if (_connection.TryGetLink(name) is Link link)
        {
            _connection.DeleteLink(link.Index);
        }
    }

    public void UpdateDevice(string name, int mtu, PhysicalAddress? mac)
    {
        Link link = _connection.GetLink(name);
        if (link.Mtu != mtu)
        {
            _connection.SetMtu(link.Index, mtu);
        }
        if (mac is not null && !mac.Equals(link.Mac))
        {
            _connection.SetMac(link.Index, mac);
        }
        if (!link.IsUp)
        {
            _connection.SetLinkUp(link.Index);
        }
    }

    public IReadOnlyList<KernelFailure?> Apply(IReadOnlyList<KernelChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        KernelFailure?[] results = new KernelFailure?[changes.Count];
        List<int> positions = new(changes.Count);
        RtnlBatch batch = _connection.CreateBatch();
        for (int i = 0; i < changes.Count; i++)
        {
            KernelChange change = changes[i];
            if (change.Family != Family)
            {
                // A wiring bug (an IPv6 object handed to the IPv4 port): refuse it rather than let one
                // family's reconciler touch the other's objects.
                results[i] = new($"{change} is {PeerChecks.FamilyName(change.Family)}, this port handles {PeerChecks.FamilyName(Family)}");
                continue;
            }
            if (!TryIndex(change.Device, out int index))
            {
                results[i] = new($"device {change.Device} does not exist");
                continue;
            }
            Queue(batch, change, index);
            positions.Add(i);
        }
        RtnlBatchResult outcome = batch.Execute();
        foreach (RtnlBatchFailure failure in outcome.Failures)
        {
            int i = positions[failure.Position];
            // Deleting what is already gone is success: the kernel is as we want it.
            bool gone = changes[i].IsDelete && failure.Error.Errno is Errno.ESRCH or Errno.ENOENT or Errno.EADDRNOTAVAIL or Errno.ENODEV;
            results[i] = gone ? null : new KernelFailure(failure.Error.Message, failure.Error.Errno);
        }
        return results;
    }

    private static void Queue(RtnlBatch batch, KernelChange change, int index)
    {
        switch (change)
        {
            case KernelChange.AddAddress(PlannedAddress a):
                // IPv6: no DAD. The /128 on a VXLAN device with programmed FDB entries only has no
                // one to collide with, and a tentative address could not source node-to-pod traffic
                // for the second DAD takes.
                batch.ReplaceAddress(index, a.Address, a.PrefixLength, noDad: a.Address.AddressFamily == AddressFamily.InterNetworkV6);
                break;
            case KernelChange.DeleteAddress(PlannedAddress a):
                batch.DeleteAddress(index, a.Address, a.PrefixLength);
                break;
            case KernelChange.PutRoute(PlannedRoute r):
                batch.ReplaceRoute(ToRoute(r, index));
                break;
            case KernelChange.DeleteRoute(PlannedRoute r):
                batch.DeleteRoute(ToRoute(r, index));
                break;
            case KernelChange.PutNeighbour(PlannedNeighbour n):
                batch.ReplaceNeighbour(ToNeighbour(n, index));
                break;
            case KernelChange.DeleteNeighbour(PlannedNeighbour n):
                batch.DeleteNeighbour(ToNeighbour(n, index));
                break;
            case KernelChange.PutFdb(PlannedFdb f):
                batch.ReplaceFdb(ToFdb(f, index));
                break;
            case KernelChange.DeleteFdb(PlannedFdb f):
                batch.DeleteFdb(ToFdb(f, index));
                break;
            default:
                throw new ArgumentException($"unknown change {change.GetType().Name}", nameof(change));
        }
    }

    private static Route ToRoute(PlannedRoute r, int index) => r.MoreGateways.Count > 0
        ? new(r.Destination)
        {
            NextHops = [.. r.MoreGateways.Prepend(r.Gateway).Select(g => new RouteNextHop(g, index, r.OnLink))],
            Protocol = RouteProtocol.Twill,
            Table = RouteTable.Main,
        }
        : new(r.Destination)
        {
            Gateway = r.Gateway.Equals(IPAddress.Any) || r.Gateway.Equals(IPAddress.IPv6Any) ? null : r.Gateway,
            OutputIndex = index,
            OnLink = r.OnLink,
            Protocol = RouteProtocol.Twill,
            Table = RouteTable.Main,
        };

    private string DeviceName(int index) =>
        _nameByIndex.TryGetValue(index, out string? name) ? name : "if" + index.ToString(CultureInfo.InvariantCulture);

    private static Neighbour ToNeighbour(PlannedNeighbour n, int index) => new(index, n.Address, n.Mac) { State = NeighbourState.Permanent };

    private static FdbEntry ToFdb(PlannedFdb f, int index) =>
        new(index, f.Mac) { Destination = f.Destination, State = NeighbourState.Permanent, Flags = NeighbourFlags.Self };

    private IPAddress Unspecified => Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;

    private void RequireFamily(IPAddress local, PlannedDevice device)
    {
        if (local.AddressFamily != Family)
        {
            throw new ArgumentException($"device {device.Name}: local {local} is {PeerChecks.FamilyName(local.AddressFamily)}, this port handles {PeerChecks.FamilyName(Family)}", nameof(device));
        }
        if (!device.Name.StartsWith(_devicePrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"device {device.Name}: name does not start with {_devicePrefix}, the {PeerChecks.FamilyName(Family)} prefix", nameof(device));
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
        if (_connection.TryGetLink(device) is Link link)
        {
            index = link.Index;
            _indexByName[device] = index;
            return true;
        }
        return false;
    }
}
