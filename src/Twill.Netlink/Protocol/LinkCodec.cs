using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Twill.Netlink.Protocol;

/// <summary>
/// RTM_*LINK messages: struct ifinfomsg then IFLA_* attributes; the kind-specific part nests as
/// IFLA_LINKINFO { IFLA_INFO_KIND "vxlan", IFLA_INFO_DATA { IFLA_VXLAN_* } }.
/// </summary>
internal static class LinkCodec
{
    public static void WriteGet(ref NetlinkWriter w, uint seq, int index, string? name)
    {
        int m = w.BeginMessage(Rtm.GetLink, Nl.FRequest, seq);
        w.WriteStruct(new IfInfoMsg { Index = index });
        if (name is not null)
        {
            w.WriteString(Ifla.IfName, name);
        }
        w.WriteU32(Ifla.ExtMask, Ifla.ExtFilterSkipStats);
        w.EndMessage(m);
    }

    public static void WriteDump(ref NetlinkWriter w, uint seq)
    {
        int m = w.BeginMessage(Rtm.GetLink, Nl.FRequest | Nl.FDump, seq);
        w.WriteStruct(new IfInfoMsg());
        w.WriteU32(Ifla.ExtMask, Ifla.ExtFilterSkipStats);
        w.EndMessage(m);
    }

    /// <summary>Starts RTM_NEWLINK (create) with the common attributes; the caller adds IFLA_LINKINFO and ends it.</summary>
    public static int BeginCreate(ref NetlinkWriter w, uint seq, string name, int? mtu, PhysicalAddress? mac)
    {
        int m = w.BeginMessage(Rtm.NewLink, Nl.FRequest | Nl.FAck | Nl.FCreate | Nl.FExcl, seq);
        w.WriteStruct(new IfInfoMsg());
        WriteCommon(ref w, name, mtu, mac);
        return m;
    }

    public static void WriteSimpleKind(ref NetlinkWriter w, uint seq, string kind, string name, int? mtu, PhysicalAddress? mac)
    {
        int m = BeginCreate(ref w, seq, name, mtu, mac);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(Ifla.InfoKind, kind);
        w.EndNested(info);
        w.EndMessage(m);
    }

    /// <summary>
    /// veth: IFLA_INFO_DATA { VETH_INFO_PEER { struct ifinfomsg, IFLA_IFNAME, IFLA_NET_NS_FD, ... } }.
    /// </summary>
    public static void WriteVeth(ref NetlinkWriter w, uint seq, string name, string peerName, int peerNsFd,
        int? mtu, PhysicalAddress? mac, PhysicalAddress? peerMac)
    {
        int m = BeginCreate(ref w, seq, name, mtu, mac);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(Ifla.InfoKind, "veth");
        int data = w.BeginNested(Ifla.InfoData);
        int peer = w.BeginNested(Ifla.VethInfoPeer, nestedFlag: false);
        w.WriteStruct(new IfInfoMsg());
        WriteCommon(ref w, peerName, mtu, peerMac);
        if (peerNsFd >= 0)
        {
            w.WriteU32(Ifla.NetNsFd, (uint)peerNsFd);
        }
        w.EndNested(peer);
        w.EndNested(data);
        w.EndNested(info);
        w.EndMessage(m);
    }

    public static void WriteVxlan(ref NetlinkWriter w, uint seq, VxlanSpec spec)
    {
        int m = BeginCreate(ref w, seq, spec.Name, spec.Mtu, spec.Mac);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(Ifla.InfoKind, "vxlan");
        int data = w.BeginNested(Ifla.InfoData);
        w.WriteU32(IflaVxlan.Id, (uint)spec.Vni);
        if (spec.Local is { } local)
        {
            w.WriteAddress(local.AddressFamily == AddressFamily.InterNetworkV6 ? IflaVxlan.Local6 : IflaVxlan.Local, local);
        }
        if (spec.UnderlayIndex is int link and > 0)
        {
            w.WriteU32(IflaVxlan.Link, (uint)link);
        }
        w.WriteU16BigEndian(IflaVxlan.Port, (ushort)spec.Port);
        w.WriteU8(IflaVxlan.Learning, spec.Learning ? (byte)1 : (byte)0);
        if (spec.Ttl is byte ttl)
        {
            w.WriteU8(IflaVxlan.Ttl, ttl);
        }
        if (spec.Tos is byte tos)
        {
            w.WriteU8(IflaVxlan.Tos, tos);
        }
        if (spec.Gbp)
        {
            w.WriteFlag(IflaVxlan.Gbp);
        }
        w.EndNested(data);
        w.EndNested(info);
        w.EndMessage(m);
    }

    /// <summary>RTM_NEWLINK on an existing index (`ip link set`): flags under a change mask, plus attributes.</summary>
    public static int BeginChange(ref NetlinkWriter w, uint seq, int index, LinkFlags flags = LinkFlags.None, LinkFlags change = LinkFlags.None)
    {
        int m = w.BeginMessage(Rtm.NewLink, Nl.FRequest | Nl.FAck, seq);
        w.WriteStruct(new IfInfoMsg { Index = index, Flags = (uint)flags, Change = (uint)change });
        return m;
    }

    /// <summary>`bridge link set dev X hairpin on|off`: RTM_SETLINK, AF_BRIDGE, IFLA_PROTINFO { IFLA_BRPORT_MODE }.</summary>
    public static void WriteHairpin(ref NetlinkWriter w, uint seq, int index, bool on)
    {
        int m = w.BeginMessage(Rtm.SetLink, Nl.FRequest | Nl.FAck, seq);
        w.WriteStruct(new IfInfoMsg { Family = Af.Bridge, Index = index });
        int prot = w.BeginNested(Ifla.ProtInfo);
        w.WriteU8(Ifla.BrportMode, on ? (byte)1 : (byte)0);
        w.EndNested(prot);
        w.EndMessage(m);
    }

    public static void WriteDelete(ref NetlinkWriter w, uint seq, int index)
    {
        int m = w.BeginMessage(Rtm.DelLink, Nl.FRequest | Nl.FAck, seq);
        w.WriteStruct(new IfInfoMsg { Index = index });
        w.EndMessage(m);
    }

    private static void WriteCommon(ref NetlinkWriter w, string name, int? mtu, PhysicalAddress? mac)
    {
        w.WriteString(Ifla.IfName, name);
        if (mtu is int value)
        {
            w.WriteU32(Ifla.Mtu, (uint)value);
        }
        if (mac is not null)
        {
            w.WriteAttribute(Ifla.Address, mac.GetAddressBytes());
        }
    }

    /// <summary>Decodes RTM_NEWLINK/RTM_DELLINK; null for other message types or other families.</summary>
    public static Link? Decode(ReadOnlySpan<byte> message)
    {
        IfInfoMsg ifi = Attr.Struct<IfInfoMsg>(message);
        string name = "";
        int mtu = 0, master = 0, parent = 0;
        int? netnsId = null;
        PhysicalAddress? mac = null;
        OperState oper = OperState.Unknown;
        string? kind = null, portKind = null;
        bool? hairpin = null;
        VxlanSpec? vxlan = null;
        AttributeReader attrs = AttributeReader.After<IfInfoMsg>(message);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Ifla.IfName: name = Attr.String(value); break;
                case Ifla.Mtu: mtu = (int)Attr.U32(value); break;
                case Ifla.Address: mac = Attr.Mac(value); break;
                case Ifla.Master: master = (int)Attr.U32(value); break;
                case Ifla.OperState: oper = (OperState)Attr.U8(value); break;
                case Ifla.Link: parent = (int)Attr.U32(value); break;
                case Ifla.LinkNetnsId: netnsId = Attr.S32(value); break;
                case Ifla.LinkInfo:
                    DecodeLinkInfo(value, out kind, out portKind, out hairpin, out vxlan);
                    break;
                default: break;
            }
        }
        if (vxlan is not null)
        {
            vxlan = vxlan with { Name = name, Mtu = mtu, Mac = mac };
        }
        return new Link
        {
            Index = ifi.Index,
            Name = name,
            Kind = kind,
            Mtu = mtu,
            Mac = mac,
            MasterIndex = master,
            Flags = (LinkFlags)ifi.Flags,
            OperState = oper,
            ParentIndex = parent,
            LinkNetnsId = netnsId,
            Vxlan = vxlan,
            PortKind = portKind,
            Hairpin = hairpin,
        };
    }

    private static void DecodeLinkInfo(ReadOnlySpan<byte> info, out string? kind, out string? portKind, out bool? hairpin, out VxlanSpec? vxlan)
    {
        kind = null;
        portKind = null;
        hairpin = null;
        vxlan = null;
        ReadOnlySpan<byte> data = default, portData = default;
        AttributeReader attrs = new(info);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Ifla.InfoKind: kind = Attr.String(value); break;
                case Ifla.InfoData: data = value; break;
                case Ifla.InfoSlaveKind: portKind = Attr.String(value); break;
                case Ifla.InfoSlaveData: portData = value; break;
                default: break;
            }
        }
        if (kind == "vxlan" && !data.IsEmpty)
        {
            vxlan = DecodeVxlan(data);
        }
        if (portKind == "bridge" && !portData.IsEmpty)
        {
            AttributeReader port = new(portData);
            while (port.TryRead(out ushort type, out ReadOnlySpan<byte> value))
            {
                if (type == Ifla.BrportMode)
                {
                    hairpin = Attr.U8(value) != 0;
                }
            }
        }
    }

    private static VxlanSpec DecodeVxlan(ReadOnlySpan<byte> data)
    {
        int vni = 0, port = 0;
        int? link = null;
        IPAddress? local = null;
        bool learning = false, gbp = false;
        byte? ttl = null, tos = null;
        AttributeReader attrs = new(data);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case IflaVxlan.Id: vni = (int)Attr.U32(value); break;
                case IflaVxlan.Local or IflaVxlan.Local6: local = Attr.Address(value); break;
                case IflaVxlan.Link: link = (int)Attr.U32(value); break;
                case IflaVxlan.Port: port = Attr.U16BigEndian(value); break;
                case IflaVxlan.Learning: learning = Attr.U8(value) != 0; break;
                case IflaVxlan.Gbp: gbp = true; break;
                case IflaVxlan.Ttl: ttl = Attr.U8(value); break;
                case IflaVxlan.Tos: tos = Attr.U8(value); break;
                default: break;
            }
        }
        return new VxlanSpec
        {
            Name = "",
            Vni = vni,
            Local = local,
            UnderlayIndex = link is 0 ? null : link,
            Port = port,
            Learning = learning,
            Gbp = gbp,
            Ttl = ttl,
            Tos = tos,
        };
    }
}
