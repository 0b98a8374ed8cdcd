using System.Runtime.InteropServices;

namespace Twill.Cni.Kernel;

/// <summary>
/// The libc calls the plugins need beyond Twill.Netlink: host-local's lock file is opened with
/// open(2) and locked with flock(2) directly, because .NET's FileStream takes its own (shared,
/// non-blocking) flock on open, which fails while another process holds our exclusive lock.
/// </summary>
internal static partial class Native
{
    public const int LOCK_EX = 2;
    public const int LOCK_UN = 8;
    public const int O_RDONLY = 0;
    public const int O_CREAT = 0x40;
    public const int O_CLOEXEC = 0x80000;
    public const int EINTR = 4;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);
}
