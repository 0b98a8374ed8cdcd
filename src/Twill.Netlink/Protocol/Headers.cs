using System.Runtime.InteropServices;

namespace Twill.Netlink.Protocol;

// The fixed headers, laid out exactly as the kernel's structs (host byte order, natural alignment).

/// <summary>struct nlmsghdr (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NlMsgHdr
{
    public uint Length;
    public ushort Type;
    public ushort Flags;
    public uint Seq;
    public uint Pid;
}

/// <summary>struct ifinfomsg (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IfInfoMsg
{
    public byte Family;
    public byte Pad;
    public ushort Type;
    public int Index;
    public uint Flags;
    public uint Change;
}

/// <summary>struct ifaddrmsg (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IfAddrMsg
{
    public byte Family;
    public byte PrefixLen;
    public byte Flags;
    public byte Scope;
    public int Index;
}

/// <summary>struct rtmsg (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtMsg
{
    public byte Family;
    public byte DstLen;
    public byte SrcLen;
    public byte Tos;
    public byte Table;
    public byte Protocol;
    public byte Scope;
    public byte Type;
    public uint Flags;
}

/// <summary>struct rtnexthop (8 bytes): one path of RTA_MULTIPATH, its attributes after it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtNextHop
{
    public ushort Length;
    public byte Flags;
    public byte Hops;
    public int IfIndex;
}

/// <summary>struct ndmsg (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NdMsg
{
    public byte Family;
    public byte Pad1;
    public ushort Pad2;
    public int IfIndex;
    public ushort State;
    public byte Flags;
    public byte Type;
}

/// <summary>struct sockaddr_nl (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SockAddrNl
{
    public ushort Family;
    public ushort Pad;
    public uint Pid;
    public uint Groups;
}
