using Twill.Netlink.Interop;
using Twill.Os;

namespace Twill.Netlink.Protocol;

/// <summary>Creates and drives a NETLINK_ROUTE socket with plain blocking send/recv.</summary>
internal static unsafe class NetlinkSocket
{
    /// <summary>Large buffers let a batch's replies and a burst of events queue up without loss.</summary>
    public const int SendBufferBytes = 4 * 1024 * 1024;
    public const int ReceiveBufferBytes = 8 * 1024 * 1024;

    /// <summary>
    /// socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) with extended ACK, capped ACKs,
    /// strict dump checking, big buffers, bound to the groups given (0 for a request socket).
    /// The socket belongs to the network namespace of the calling thread, for good.
    /// </summary>
    public static FileDescriptor Create(uint groups)
    {
        int fd = Libc.Socket(Nl.AfNetlink, Libc.SockRaw | Libc.SockCloexec, Nl.NetlinkRoute);
        if (fd < 0)
        {
            throw NetlinkException.FromLastError("socket(AF_NETLINK, NETLINK_ROUTE)");
        }
        FileDescriptor handle = new(fd);
        try
        {
            SetInt(handle, Nl.SolNetlink, Nl.OptExtAck, 1, "NETLINK_EXT_ACK");
            SetInt(handle, Nl.SolNetlink, Nl.OptCapAck, 1, "NETLINK_CAP_ACK");
            SetInt(handle, Nl.SolNetlink, Nl.OptGetStrictChk, 1, "NETLINK_GET_STRICT_CHK");
            SetBuffer(handle, Libc.SoSndbufForce, Libc.SoSndbuf, SendBufferBytes);
            SetBuffer(handle, Libc.SoRcvbufForce, Libc.SoRcvbuf, ReceiveBufferBytes);
            SockAddrNl addr = new() { Family = Nl.AfNetlink, Groups = groups };
            if (Libc.Bind(handle, &addr, sizeof(SockAddrNl)) != 0)
            {
                throw NetlinkException.FromLastError("bind(AF_NETLINK)");
            }
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public static void Send(FileDescriptor fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            while (true)
            {
                nint n = Libc.Send(fd, p, (nuint)data.Length, 0);
                if (n >= 0)
                {
                    if (n != data.Length)
                    {
                        throw new NetlinkException(Errno.EMSGSIZE, $"send: {n} of {data.Length} bytes written");
                    }
                    return;
                }
                if ((Errno)Libc.LastErrno != Errno.EINTR)
                {
                    throw NetlinkException.FromLastError($"send({data.Length} bytes)");
                }
            }
        }
    }

    /// <summary>One datagram; throws when it did not fit (MSG_TRUNC reports its real length).</summary>
    public static int Receive(FileDescriptor fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = Libc.Recv(fd, p, (nuint)buffer.Length, Libc.MsgTrunc);
                if (n >= 0)
                {
                    if (n > buffer.Length)
                    {
                        throw new NetlinkException(Errno.EMSGSIZE, $"recv: datagram of {n} bytes exceeds {buffer.Length}");
                    }
                    return (int)n;
                }
                if ((Errno)Libc.LastErrno != Errno.EINTR)
                {
                    throw NetlinkException.FromLastError("recv");
                }
            }
        }
    }

    private static void SetInt(FileDescriptor fd, int level, int name, int value, string what)
    {
        if (Libc.SetSockOpt(fd, level, name, &value, sizeof(int)) != 0)
        {
            throw NetlinkException.FromLastError($"setsockopt({what})");
        }
    }

    private static void SetBuffer(FileDescriptor fd, int forceOption, int option, int bytes)
    {
        // The FORCE variant ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; fall back quietly.
        if (Libc.SetSockOpt(fd, Libc.SolSocket, forceOption, &bytes, sizeof(int)) != 0)
        {
            _ = Libc.SetSockOpt(fd, Libc.SolSocket, option, &bytes, sizeof(int));
        }
    }
}
