using System.Runtime.InteropServices;

namespace Twill.Os.Interop;

/// <summary>libc's file calls. Each sets errno (SetLastError); "libc" is bound at link time under AOT (DirectPInvoke).</summary>
internal static unsafe partial class Libc
{
    public const string Lib = "libc";

    public const int EINTR = 4;
    public const int EINVAL = 22;

    public const int LockExclusive = 2;
    public const int LockUnlock = 8;

    public const int SeekSet = 0;
    public const int SeekEnd = 2;

    public const uint MfdCloexec = 1;

    public const int AtFdCwd = -100;
    public const uint StatxIno = 0x100;

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buf, nint count);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buf, nint count);

    [LibraryImport(Lib, EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(SafeHandle fd, byte* buf, nint count, long offset);

    [LibraryImport(Lib, EntryPoint = "lseek", SetLastError = true)]
    public static partial long LSeek(SafeHandle fd, long offset, int whence);

    [LibraryImport(Lib, EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(SafeHandle fd, int operation);

    [LibraryImport(Lib, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Statx(int dirfd, string path, int flags, uint mask, StatxBuffer* buf);

    public static int LastErrno => Marshal.GetLastPInvokeError();
}

/// <summary>
/// struct statx (linux/stat.h): one layout on every architecture, unlike struct stat, so no
/// offsets depend on the machine. 256 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct StatxBuffer
{
    public uint Mask;
    public uint BlockSize;
    public ulong Attributes;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public ushort Mode;
    public ushort Spare0;
    public ulong Ino;
    public ulong Size;
    public ulong Blocks;
    public ulong AttributesMask;
    public StatxTimestamp Atime;
    public StatxTimestamp Btime;
    public StatxTimestamp Ctime;
    public StatxTimestamp Mtime;
    public uint RdevMajor;
    public uint RdevMinor;
    public uint DevMajor;
    public uint DevMinor;
    public unsafe fixed ulong Spare2[14];
}

[StructLayout(LayoutKind.Sequential)]
internal struct StatxTimestamp
{
    public long Seconds;
    public uint Nanoseconds;
    public int Reserved;
}
