using Twill.Os.Interop;

namespace Twill.Os;

/// <summary>
/// An exclusive <c>flock(2)</c> on a lock file, held until disposed; the kernel releases it if the
/// process dies. Acquire blocks (retrying EINTR), so never call it where blocking a thread is wrong.
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly FileDescriptor _fd;
    private int _disposed;

    private FileLock(FileDescriptor fd) => _fd = fd;

    /// <summary>Opens (creating with <paramref name="mode"/>) and locks <paramref name="path"/>.</summary>
    /// <param name="access">ReadWrite, or ReadOnly for a lock file we may not write (flock needs neither).</param>
    /// <exception cref="OsException">Operation "open" or "flock".</exception>
    public static FileLock Acquire(string path, int mode, OpenFlags access = OpenFlags.ReadWrite)
    {
        FileDescriptor fd = FileDescriptor.Open(path, access | OpenFlags.Create | OpenFlags.CloseOnExec, mode);
        while (Libc.Flock(fd, Libc.LockExclusive) != 0)
        {
            int errno = Libc.LastErrno;
            if (errno != Libc.EINTR)
            {
                fd.Dispose();
                throw new OsException(errno, "flock");
            }
        }
        return new FileLock(fd);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // Closing the last descriptor releases the lock too; unlocking first makes the order explicit.
        _ = Libc.Flock(_fd, Libc.LockUnlock);
        _fd.Dispose();
    }
}
