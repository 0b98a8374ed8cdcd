using System.Net.NetworkInformation;
using Twill.Netlink.Protocol;
using Twill.Core;

namespace Twill.Netlink;

public sealed partial class RtnlConnection
{
    /// <summary>`ip link show NAME`; null when there is no such device.</summary>
    public Link? TryGetLink(string name)
    {
        ValidateName(name);
        return TryGet(() => GetLinkCore(0, name));
    }

    /// <summary>`ip link show` by index; null when there is no such device.</summary>
    public Link? TryGetLink(int index) => TryGet(() => GetLinkCore(index, null));

    /// <summary>`ip link show NAME`; throws <see cref="NetlinkException"/> (ENODEV) when absent.</summary>
    public Link GetLink(string name)
    {
        ValidateName(name);
        return GetLinkCore(0, name);
    }

    /// <summary>`ip link show` by index; throws <see cref="NetlinkException"/> (ENODEV) when absent.</summary>
    public Link GetLink(int index) => GetLinkCore(index, null);

    /// <summary>`ip -d link show`: every link in the namespace.</summary>
    public IReadOnlyList<Link> DumpLinks() =>
        Dump(0, static (ref NetlinkWriter w, uint seq, int _) => LinkCodec.WriteDump(ref w, seq), LinkCodec.Decode, "RTM_GETLINK dump");

    /// <summary>
    /// `ip link add NAME [mtu M] [address MAC] type veth peer name PEER [address PEERMAC] [netns NS]`.
    /// With <paramref name="peerNamespace"/> the peer is created directly in that namespace.
    /// Returns the local end.
    /// </summary>
    public Link AddVeth(string name, string peerName, NetNs? peerNamespace = null, int? mtu = null,
        PhysicalAddress? mac = null, PhysicalAddress? peerMac = null)
    {
        ValidateName(name);
        ValidateName(peerName);
        if (peerNamespace is null)
        {
            AddVethCore(name, peerName, -1, mtu, mac, peerMac);
        }
        else
        {
            WithFd(peerNamespace, fd => AddVethCore(name, peerName, fd, mtu, mac, peerMac));
        }
        return GetLink(name);
    }

    private int AddVethCore(string name, string peerName, int peerFd, int? mtu, PhysicalAddress? mac, PhysicalAddress? peerMac)
    {
        Execute((name, peerName, peerFd, mtu, mac, peerMac),
            static (ref NetlinkWriter w, uint seq, (string Name, string Peer, int Fd, int? Mtu, PhysicalAddress? Mac, PhysicalAddress? PeerMac) s) =>
                LinkCodec.WriteVeth(ref w, seq, s.Name, s.Peer, s.Fd, s.Mtu, s.Mac, s.PeerMac),
            static ((string Name, string Peer, int Fd, int? Mtu, PhysicalAddress? Mac, PhysicalAddress? PeerMac) s) => $"veth {s.Name} peer {s.Peer}");
        return 0;
    }

    /// <summary>`ip link add NAME [mtu M] [address MAC] type bridge`.</summary>
    public Link AddBridge(string name, int? mtu = null, PhysicalAddress? mac = null) => AddSimple("bridge", name, mtu, mac);

    /// <summary>`ip link add NAME [mtu M] [address MAC] type dummy`.</summary>
    public Link AddDummy(string name, int? mtu = null, PhysicalAddress? mac = null) => AddSimple("dummy", name, mtu, mac);

    /// <summary>
    /// `ip link add NAME type vxlan id VNI [local IP] [dev UNDERLAY] dstport PORT [no]learning [gbp]
    /// [ttl T] [tos T] [mtu M] [address MAC]`.
    /// </summary>
    public Link AddVxlan(VxlanSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ValidateName(spec.Name);
        if (spec.Vni is < 0 or > 0xFFFFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(spec), spec.Vni, $"vxlan {spec.Name}: Vni must be 0..16777215");
        }
        if (spec.Port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(spec), spec.Port, $"vxlan {spec.Name}: Port must be 0..65535");
        }
        Execute(spec, static (ref NetlinkWriter w, uint seq, VxlanSpec s) => LinkCodec.WriteVxlan(ref w, seq, s),
            static s => $"vxlan {s.Name} id {s.Vni}");
        return GetLink(spec.Name);
    }

    /// <summary>`ip link set dev X up`.</summary>
    public void SetLinkUp(int index) => Change(index, LinkFlags.Up, LinkFlags.Up, "up");

    /// <summary>`ip link set dev X down`.</summary>
    public void SetLinkDown(int index) => Change(index, LinkFlags.None, LinkFlags.Up, "down");

    /// <summary>`ip link set dev X promisc on|off`.</summary>
    public void SetPromiscuous(int index, bool on) =>
        Change(index, on ? LinkFlags.Promisc : LinkFlags.None, LinkFlags.Promisc, on ? "promisc on" : "promisc off");

    /// <summary>`ip link set dev X mtu M`.</summary>
    public void SetMtu(int index, int mtu) =>
        Execute((index, mtu), static (ref NetlinkWriter w, uint seq, (int Index, int Mtu) s) =>
        {
            int m = LinkCodec.BeginChange(ref w, seq, s.Index);
            w.WriteU32(Ifla.Mtu, (uint)s.Mtu);
            w.EndMessage(m);
        }, static ((int Index, int Mtu) s) => $"dev {s.Index} mtu {s.Mtu}");

    /// <summary>`ip link set dev X master M`, or `nomaster` when <paramref name="masterIndex"/> is 0.</summary>
    public void SetMaster(int index, int masterIndex) =>
        Execute((index, masterIndex), static (ref NetlinkWriter w, uint seq, (int Index, int Master) s) =>
        {
            int m = LinkCodec.BeginChange(ref w, seq, s.Index);
            w.WriteU32(Ifla.Master, (uint)s.Master);
            w.EndMessage(m);
        }, static ((int Index, int Master) s) => s.Master == 0 ? $"dev {s.Index} nomaster" : $"dev {s.Index} master {s.Master}");

    /// <summary>`ip link set dev X address MAC`.</summary>
    public void SetMac(int index, PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        Execute((index, mac), static (ref NetlinkWriter w, uint seq, (int Index, PhysicalAddress Mac) s) =>
        {
            int m = LinkCodec.BeginChange(ref w, seq, s.Index);
            w.WriteAttribute(Ifla.Address, s.Mac.GetAddressBytes());
            w.EndMessage(m);
        }, static ((int Index, PhysicalAddress Mac) s) => $"dev {s.Index} address {s.Mac.ToColonString()}");
    }

    /// <summary>`ip link set dev X netns NS`: moves the link into <paramref name="ns"/>.</summary>
    public void SetNamespace(int index, NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        WithFd(ns, fd =>
        {
            Execute((index, fd, ns.ToString()), static (ref NetlinkWriter w, uint seq, (int Index, int Fd, string Ns) s) =>
            {
                int m = LinkCodec.BeginChange(ref w, seq, s.Index);
                w.WriteU32(Ifla.NetNsFd, (uint)s.Fd);
                w.EndMessage(m);
            }, static ((int Index, int Fd, string Ns) s) => $"dev {s.Index} netns {s.Ns}");
            return 0;
        });
    }

    /// <summary>`ip link set dev X name NEW` (the link must be down).</summary>
    public void SetName(int index, string name)
    {
        ValidateName(name);
        Execute((index, name), static (ref NetlinkWriter w, uint seq, (int Index, string Name) s) =>
        {
            int m = LinkCodec.BeginChange(ref w, seq, s.Index);
            w.WriteString(Ifla.IfName, s.Name);
            w.EndMessage(m);
        }, static ((int Index, string Name) s) => $"dev {s.Index} name {s.Name}");
    }

    /// <summary>`bridge link set dev X hairpin on|off` (X must be a bridge port).</summary>
    public void SetHairpin(int index, bool on) =>
        Execute((index, on), static (ref NetlinkWriter w, uint seq, (int Index, bool On) s) => LinkCodec.WriteHairpin(ref w, seq, s.Index, s.On),
            static ((int Index, bool On) s) => $"dev {s.Index} hairpin {(s.On ? "on" : "off")}");

    /// <summary>`ip link del dev X` (deleting one end of a veth removes both).</summary>
    public void DeleteLink(int index) =>
        Execute(index, static (ref NetlinkWriter w, uint seq, int i) => LinkCodec.WriteDelete(ref w, seq, i), static i => $"dev {i}");

    private Link AddSimple(string kind, string name, int? mtu, PhysicalAddress? mac)
    {
        ValidateName(name);
        Execute((kind, name, mtu, mac), static (ref NetlinkWriter w, uint seq, (string Kind, string Name, int? Mtu, PhysicalAddress? Mac) s) =>
            LinkCodec.WriteSimpleKind(ref w, seq, s.Kind, s.Name, s.Mtu, s.Mac), static ((string Kind, string Name, int? Mtu, PhysicalAddress? Mac) s) => $"{s.Kind} {s.Name}");
        return GetLink(name);
    }

    private void Change(int index, LinkFlags flags, LinkFlags mask, string what) =>
        Execute((index, flags, mask, what), static (ref NetlinkWriter w, uint seq, (int Index, LinkFlags Flags, LinkFlags Mask, string What) s) =>
        {
            int m = LinkCodec.BeginChange(ref w, seq, s.Index, s.Flags, s.Mask);
            w.EndMessage(m);
        }, static ((int Index, LinkFlags Flags, LinkFlags Mask, string What) s) => $"dev {s.Index} {s.What}");

    private Link GetLinkCore(int index, string? name) =>
        Get((index, name), static (ref NetlinkWriter w, uint seq, (int Index, string? Name) s) => LinkCodec.WriteGet(ref w, seq, s.Index, s.Name),
            LinkCodec.Decode, static ((int Index, string? Name) s) => s.Name ?? $"index {s.Index}");

    private static Link? TryGet(Func<Link> get)
    {
        try
        {
            return get();
        }
        catch (NetlinkException e) when (e.Errno is Errno.ENODEV or Errno.ENOENT)
        {
            return null;
        }
    }

    /// <summary>Linux interface names: 1..15 bytes, no '/', no whitespace, not "." or "..".</summary>
    private static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 15 || name is "." or ".." || name.Any(c => c == '/' || c == ':' || char.IsWhiteSpace(c)))
        {
            throw new ArgumentException($"invalid interface name '{name}' (1..15 characters, no '/', ':' or spaces)", nameof(name));
        }
    }
}
