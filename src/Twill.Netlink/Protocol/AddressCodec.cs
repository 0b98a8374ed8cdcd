using System.Net;
using System.Net.Sockets;

namespace Twill.Netlink.Protocol;

/// <summary>RTM_*ADDR: struct ifaddrmsg then IFA_LOCAL / IFA_ADDRESS / IFA_BROADCAST / IFA_FLAGS / IFA_LABEL.</summary>
internal static class AddressCodec
{
    public static byte Family(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => Af.Inet,
        AddressFamily.InterNetworkV6 => Af.Inet6,
        AddressFamily.Unspecified => Af.Unspec,
        _ => throw new ArgumentException($"address family {family} is not IPv4 or IPv6", nameof(family)),
    };

    public static void Write(ref NetlinkWriter w, ushort type, ushort flags, uint seq, int index, IPAddress address, int prefixLength, AddressFlags addressFlags,
        RouteScope scope = RouteScope.Universe, IPAddress? broadcast = null)
    {
        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefixLength < 0 || prefixLength > max)
        {
            throw new ArgumentOutOfRangeException(nameof(prefixLength), prefixLength, $"prefix length for {address} must be 0..{max}");
        }
        int m = w.BeginMessage(type, flags, seq);
        w.WriteStruct(new IfAddrMsg
        {
            Family = Family(address.AddressFamily),
            PrefixLen = (byte)prefixLength,
            Flags = (byte)((uint)addressFlags & 0xff),
            Scope = (byte)scope,
            Index = index,
        });
        w.WriteAddress(Ifa.Local, address);
        w.WriteAddress(Ifa.Address, address);
        if (broadcast is not null)
        {
            if (broadcast.AddressFamily != AddressFamily.InterNetwork || address.AddressFamily != AddressFamily.InterNetwork)
            {
                throw new ArgumentException($"broadcast {broadcast} for {address}: only IPv4 addresses have a broadcast", nameof(broadcast));
            }
            w.WriteAddress(Ifa.Broadcast, broadcast);
        }
        if (addressFlags != AddressFlags.None && type == Rtm.NewAddr)
        {
            w.WriteU32(Ifa.Flags, (uint)addressFlags);
        }
        w.EndMessage(m);
    }

    public static void WriteDump(ref NetlinkWriter w, uint seq, AddressFamily family, int index)
    {
        int m = w.BeginMessage(Rtm.GetAddr, Nl.FRequest | Nl.FDump, seq);
        w.WriteStruct(new IfAddrMsg { Family = Family(family), Index = index });
        w.EndMessage(m);
    }

    public static IfAddress? Decode(ReadOnlySpan<byte> message)
    {
        IfAddrMsg ifa = Attr.Struct<IfAddrMsg>(message);
        if (ifa.Family is not (Af.Inet or Af.Inet6))
        {
            return null;
        }
        IPAddress? local = null, address = null, broadcast = null;
        uint flags = ifa.Flags;
        string? label = null;
        AttributeReader attrs = AttributeReader.After<IfAddrMsg>(message);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Ifa.Local: local = Attr.Address(value); break;
                case Ifa.Address: address = Attr.Address(value); break;
                case Ifa.Broadcast: broadcast = Attr.Address(value); break;
                case Ifa.Flags: flags = Attr.U32(value); break;
                case Ifa.Label: label = Attr.String(value); break;
                default: break;
            }
        }
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
        IPAddress? own = local ?? address;
        return own is null
            ? null
            : new IfAddress(ifa.Index, own, ifa.PrefixLen)
            {
                Scope = (RouteScope)ifa.Scope,
                Flags = (AddressFlags)flags,
                Label = label,
                Broadcast = broadcast,
            };
    }
}
