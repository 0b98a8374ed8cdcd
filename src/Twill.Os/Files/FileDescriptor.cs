using System.Runtime.InteropServices;
using Twill.Os.Interop;

namespace Twill.Os;

/// <summary>open(2) flags (Linux values, the same on x86_64 and arm64).</summary>
[Flags]
public enum OpenFlags
{
    ReadOnly = 0,
    ReadWrite = 0x2,
    Create = 0x40,
    Exclusive = 0x80,
    CloseOnExec = 0x80000,
}

/// <summary>An owned file descriptor (file, namespace file, socket, memfd), closed exactly once.</summary>
/// <remarks>
/// Opened with libc directly, not FileStream: on Unix a FileStream takes its own advisory
/// flock(LOCK_SH|LOCK_NB) on open, which fails instead of waiting while another process holds an
/// exclusive lock on the file.
/// </remarks>
public sealed class FileDescriptor : SafeHandle
{
    public FileDescriptor() : base(-1, ownsHandle: true)
    {
    }

    /// <summary>Takes ownership of <paramref name="fd"/> (e.g. a socket the caller created).</summary>
    public FileDescriptor(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    /// <summary>The descriptor number, for APIs that take one as a value (IFLA_NET_NS_FD). Valid until Dispose.</summary>
    public int Fd => (int)handle;

    /// <summary>open(2); <see cref="OpenFlags.CloseOnExec"/> is the caller's to pass.</summary>
    /// <exception cref="OsException">Operation "open".</exception>
    public static FileDescriptor Open(string path, OpenFlags flags, int mode = 0)
    {
        int fd = Libc.Open(path, (int)flags, mode);
        return fd >= 0 ? new FileDescriptor(fd) : throw OsException.FromLastError("open");
    }

    /// <summary>memfd_create(2), close-on-exec: an anonymous file in memory.</summary>
    /// <exception cref="OsException">Operation "memfd_create".</exception>
    public static FileDescriptor CreateMemory(string name)
    {
        int fd = Libc.MemfdCreate(name, Libc.MfdCloexec);
        return fd >= 0 ? new FileDescriptor(fd) : throw OsException.FromLastError("memfd_create");
    }

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
