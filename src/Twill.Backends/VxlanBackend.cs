using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Core;

namespace Twill.Backends;

/// <summary>
/// The VXLAN backend as a pure function, for one address family. The device is Flannel's
/// <c>flannel.&lt;VNI&gt;</c> for IPv4 and <c>flannel-v6.&lt;VNI&gt;</c> for IPv6 (so Twill can take over a
/// Flannel node), local = the underlay address of that family; for each peer (IPv6: the peer's IPv6
/// subnet, its <c>PublicIPv6</c> and the VtepMAC of its BackendV6Data; the neighbour is an NDP entry):
/// <code>
/// ip neigh replace  &lt;peer subnet&gt;.0 lladdr &lt;peer VtepMAC&gt; dev flannel.VNI nud permanent
/// bridge fdb replace &lt;peer VtepMAC&gt; dev flannel.VNI dst &lt;peer public IP&gt; self permanent
/// ip route replace  &lt;peer subnet&gt; via &lt;peer subnet&gt;.0 dev flannel.VNI onlink proto twill
/// </code>
/// With DirectRouting, a peer whose public IP lies in the underlay's on-link subnet gets the host-gw
/// route instead (no encapsulation).
/// </summary>
public static class VxlanBackend
{
    /// <summary>Plans the node's kernel state.</summary>
    /// <param name="settings">The backend configuration.</param>
    /// <param name="own">This node's lease.</param>
    /// <param name="peers">Every other lease (this node's own is skipped if present).</param>
    /// <param name="underlay">The underlay interface.</param>
    /// <param name="vtepMac">The stable VtepMAC of our device (persisted by the agent); null lets the kernel pick.</param>
    public static KernelPlan Plan(BackendSettings settings, PeerLease own, IEnumerable<PeerLease> peers, Underlay underlay, PhysicalAddress? vtepMac = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(underlay);
        PeerChecks.RequireOneFamily(own, underlay);
        AddressFamily family = own.Family;
        string dev = settings.DeviceNameFor(family);
        PlannedDevice device = new()
        {
            Name = dev,
            Vni = settings.Vni,
            Local = underlay.Address,
            UnderlayIndex = underlay.Index,
            Port = settings.EffectivePort,
            Gbp = settings.Gbp,
            Learning = settings.Learning,
            Mtu = settings.OverlayMtu(family, underlay.Mtu),
            Mac = vtepMac,
        };
        List<PlanProblem> problems = [];
        List<PeerLease> admitted = PeerChecks.Admissible(own, peers, problems);
        // Sized once: a plan is made on every lease event, and at 5,000 peers lists and sets grown
        // step by step were most of what it allocated.
        List<PlannedRoute> routes = new(admitted.Count);
        List<PlannedNeighbour> neighbours = new(admitted.Count);
        List<PlannedFdb> fdb = new(admitted.Count);
        int planned = 0;
        HashSet<PhysicalAddress> macs = new(admitted.Count + 1);
        if (vtepMac is not null)
        {
            macs.Add(vtepMac);
        }
        bool windowsReady = settings.Vni >= BackendSettings.WindowsVni && settings.EffectivePort == BackendSettings.WindowsPort;

        foreach (PeerLease peer in admitted)
        {
            if (!string.Equals(peer.BackendType, "vxlan", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"backend type '{peer.BackendType}' differs from ours ('vxlan'); ignored"));
                continue;
            }
            if (peer.Vni is int vni && vni != settings.Vni)
            {
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"VNI {vni.ToString(CultureInfo.InvariantCulture)} differs from ours ({settings.Vni.ToString(CultureInfo.InvariantCulture)}); traffic between us cannot flow; ignored"));
                continue;
            }
            if (peer.Os == PeerOs.Windows && !windowsReady)
            {
                // Windows (HNS) only speaks VNI >= 4096 on UDP 4789; say so, and still program the peer:
                // routes cost nothing and the operator may be changing the config right now.
                problems.Add(new(ProblemSeverity.Error, peer.Key,
                    $"is a Windows node, which needs VNI >= {BackendSettings.WindowsVni} and port {BackendSettings.WindowsPort}; ours are VNI {settings.Vni.ToString(CultureInfo.InvariantCulture)}, port {settings.EffectivePort.ToString(CultureInfo.InvariantCulture)}"));
            }
            if (settings.DirectRouting && underlay.OnLink.Contains(peer.PublicIP))
            {
                routes.Add(new PlannedRoute(peer.Subnet, peer.PublicIP, underlay.Name, OnLink: false));
                planned++;
                continue;
            }
            if (peer.HasNoVtepMac)
            {
                // A Windows node's first publication: HNS has not made its MAC yet. The update follows.
                problems.Add(new(ProblemSeverity.Info, peer.Key, "no VtepMAC yet (a Windows node's first publication); waiting for the update"));
                continue;
            }
            PhysicalAddress mac = peer.VtepMac!;
            if (!macs.Add(mac))
            {
                // Two peers claiming one VtepMAC would make their FDB entries fight over one key.
                problems.Add(new(ProblemSeverity.Error, peer.Key, $"VtepMAC {mac.ToColonString()} is already another peer's; ignored"));
                continue;
            }
            IPAddress gateway = peer.Subnet.BaseAddress;
            neighbours.Add(new PlannedNeighbour(dev, gateway, mac));
            fdb.Add(new PlannedFdb(dev, mac, peer.PublicIP));
            routes.Add(new PlannedRoute(peer.Subnet, gateway, dev, OnLink: true));
            planned++;
        }

        return new KernelPlan
        {
            Device = device,
            // A host address (/32, /128): no broadcast or prefix route on the device; it is only the
            // source of node-to-pod traffic, as in Flannel.
            Addresses = [new PlannedAddress(dev, own.Subnet.BaseAddress, family == AddressFamily.InterNetworkV6 ? 128 : 32)],
            Routes = routes,
            Neighbours = neighbours,
            Fdb = fdb,
            Problems = problems,
            PeerCount = planned,
        };
    }
}
