using System.Net;
using System.Net.Sockets;

namespace Twill.Netlink.Protocol;

/// <summary>
/// RTM_*NEIGH: struct ndmsg then NDA_*. The same message with family AF_BRIDGE is a bridge FDB
/// entry, where NDA_PORT is big-endian and NDA_VNI host order.
/// </summary>
internal static class NeighbourCodec
{
    public static void Write(ref NetlinkWriter w, ushort type, ushort flags, uint seq, Neighbour n)
    {
        int m = w.BeginMessage(type, flags, seq);
        w.WriteStruct(new NdMsg
        {
            Family = AddressCodec.Family(n.Address.AddressFamily),
            IfIndex = n.Index,
            State = (ushort)n.State,
            Flags = (byte)n.Flags,
        });
        w.WriteAddress(Nda.Dst, n.Address);
        if (n.Mac is not null && type == Rtm.NewNeigh)
        {
            w.WriteAttribute(Nda.LlAddr, n.Mac.GetAddressBytes());
        }
        w.EndMessage(m);
    }

    public static void WriteFdb(ref NetlinkWriter w, ushort type, ushort flags, uint seq, FdbEntry e)
    {
        int m = w.BeginMessage(type, flags, seq);
        w.WriteStruct(new NdMsg
        {
            Family = Af.Bridge,
            IfIndex = e.Index,
            State = (ushort)e.State,
            Flags = (byte)e.Flags,
        });
        w.WriteAttribute(Nda.LlAddr, e.Mac.GetAddressBytes());
        if (e.Destination is { } dst)
        {
            w.WriteAddress(Nda.Dst, dst);
        }
        if (e.Port is int port)
        {
            w.WriteU16BigEndian(Nda.Port, (ushort)port);
        }
        if (e.Vni is int vni)
        {
            w.WriteU32(Nda.Vni, (uint)vni);
        }
        if (e.Vlan is int vlan)
        {
            w.WriteU16(Nda.Vlan, (ushort)vlan);
        }
        w.EndMessage(m);
    }

    /// <summary>A strict dump; <paramref name="index"/> &gt; 0 filters by device (NDA_IFINDEX).</summary>
    public static void WriteDump(ref NetlinkWriter w, uint seq, byte family, int index)
    {
        int m = w.BeginMessage(Rtm.GetNeigh, Nl.FRequest | Nl.FDump, seq);
        w.WriteStruct(new NdMsg { Family = family });
        if (index > 0)
        {
            w.WriteU32(Nda.IfIndex, (uint)index);
        }
        w.EndMessage(m);
    }

    public static Neighbour? Decode(ReadOnlySpan<byte> message)
    {
        NdMsg nd = Attr.Struct<NdMsg>(message);
        if (nd.Family is not (Af.Inet or Af.Inet6))
        {
            return null;
        }
        IPAddress? dst = null;
        System.Net.NetworkInformation.PhysicalAddress? mac = null;
        AttributeReader attrs = AttributeReader.After<NdMsg>(message);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Nda.Dst: dst = Attr.Address(value); break;
                case Nda.LlAddr: mac = Attr.Mac(value); break;
                default: break;
            }
        }
        return dst is null
            ? null
            : new Neighbour(nd.IfIndex, dst, mac) { State = (NeighbourState)nd.State, Flags = (NeighbourFlags)nd.Flags };
    }

    public static FdbEntry? DecodeFdb(ReadOnlySpan<byte> message)
    {
        NdMsg nd = Attr.Struct<NdMsg>(message);
        if (nd.Family != Af.Bridge)
        {
            return null;
        }
        IPAddress? dst = null;
        System.Net.NetworkInformation.PhysicalAddress? mac = null;
        int? port = null, vni = null, master = null, vlan = null;
        AttributeReader attrs = AttributeReader.After<NdMsg>(message);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Nda.Dst: dst = Attr.Address(value); break;
                case Nda.LlAddr: mac = Attr.Mac(value); break;
                case Nda.Port: port = Attr.U16BigEndian(value); break;
                case Nda.Vni: vni = (int)Attr.U32(value); break;
                case Nda.Master: master = (int)Attr.U32(value); break;
                case Nda.Vlan: vlan = Attr.U16(value); break;
                default: break;
            }
        }
        return mac is null
            ? null
            : new FdbEntry(nd.IfIndex, mac)
            {
                Destination = dst,
                Port = port,
                Vni = vni,
                MasterIndex = master,
                Vlan = vlan,
                State = (NeighbourState)nd.State,
                Flags = (NeighbourFlags)nd.Flags,
            };
    }

    public static byte FamilyOf(AddressFamily family) => AddressCodec.Family(family);
}
