using System.Runtime.InteropServices;

namespace Twill.Netlink.Interop;

/// <summary>The libc calls a netlink socket needs (namespaces, files: Twill.Os). Each sets errno (SetLastError).</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int SockRaw = 3;
    public const int SockCloexec = 0x80000;
    public const int SolSocket = 1;
    public const int SoSndbuf = 7;
    public const int SoRcvbuf = 8;
    public const int SoSndbufForce = 32;
    public const int SoRcvbufForce = 33;

    public const int MsgTrunc = 0x20;

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(SafeHandle fd, void* addr, int addrlen);

    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(SafeHandle fd, int level, int name, void* value, int len);

    [LibraryImport(Lib, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(SafeHandle fd, byte* buf, nuint len, int flags);

    [LibraryImport(Lib, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(SafeHandle fd, byte* buf, nuint len, int flags);

    public static int LastErrno => Marshal.GetLastPInvokeError();
}
