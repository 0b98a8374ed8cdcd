using System.Runtime.InteropServices;

namespace Twill.Os.Interop;

internal static partial class Libc
{
    public const int CloneNewNet = 0x40000000;

    public const ulong MsBind = 4096;
    public const ulong MsRec = 16384;
    public const ulong MsShared = 1 << 20;
    public const int MntDetach = 2;

    [LibraryImport(Lib, EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(SafeHandle fd, int nstype);

    [LibraryImport(Lib, EntryPoint = "unshare", SetLastError = true)]
    public static partial int Unshare(int flags);

    [LibraryImport(Lib, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fstype, ulong flags, nint data);

    [LibraryImport(Lib, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);
}
