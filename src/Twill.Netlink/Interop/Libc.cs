using System.Runtime.InteropServices;

namespace Twill.Netlink.Interop;

/// <summary>The few libc calls netlink and namespaces need. Each sets errno (SetLastError).</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int ENOBUFS = 105;
    public const int EINTR = 4;
    public const int EINVAL = 22;
    public const int EEXIST = 17;
    public const int ENOENT = 2;

    public const int SockRaw = 3;
    public const int SockCloexec = 0x80000;
    public const int SolSocket = 1;
    public const int SoSndbuf = 7;
    public const int SoRcvbuf = 8;
    public const int SoSndbufForce = 32;
    public const int SoRcvbufForce = 33;

    public const int CloneNewNet = 0x40000000;

    public const ulong MsBind = 4096;
    public const ulong MsRec = 16384;
    public const ulong MsShared = 1 << 20;
    public const int MntDetach = 2;

    public const int ORdOnly = 0;
    public const int OCreat = 64;
    public const int OExcl = 128;
    public const int OCloexec = 0x80000;

    public const int MsgDontwait = 0x40;
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

    [LibraryImport(Lib, EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(SafeHandle fd, int nstype);

    [LibraryImport(Lib, EntryPoint = "unshare", SetLastError = true)]
    public static partial int Unshare(int flags);

    [LibraryImport(Lib, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fstype, ulong flags, nint data);

    [LibraryImport(Lib, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public static int LastErrno => Marshal.GetLastPInvokeError();
}

/// <summary>An owned file descriptor (socket or namespace file), closed exactly once.</summary>
internal sealed class FileDescriptorHandle : SafeHandle
{
    public FileDescriptorHandle() : base(-1, ownsHandle: true)
    {
    }

    public FileDescriptorHandle(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
