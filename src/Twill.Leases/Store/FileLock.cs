using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Twill.Leases.Store;

/// <summary>
/// An exclusive lock on a file shared by processes on one machine: <c>flock(LOCK_EX)</c> on a lock
/// file (.NET's FileShare is no lock one can wait on). Within one process a semaphore per path
/// queues callers first, so at most one thread per process blocks in the kernel, and none of the
/// thread pool's threads pile up waiting.
/// </summary>
internal static partial class FileLock
{
    private const int LOCK_EX = 2;
    private const int LOCK_UN = 8;
    private const int EINTR = 4;

    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    /// <summary>Takes the lock; dispose the result to release it.</summary>
    public static async Task<IDisposable> AcquireAsync(string path, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate = Gates.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        SafeFileHandle? handle = null;
        try
        {
            // Not FileStream: on Unix it takes its own flock(LOCK_SH|LOCK_NB) on open, which fails while
            // another process holds our LOCK_EX instead of waiting for it.
            int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0x1A4 /* 0644 */);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"open({path}) failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})");
            }
            handle = new SafeFileHandle(fd, ownsHandle: true);
            // Another process holds it for a few milliseconds at most; a blocking wait is the simplest correct thing.
            await Task.Run(() => Lock(handle, path), cancellationToken).ConfigureAwait(false);
            return new Held(handle, gate);
        }
        catch
        {
            handle?.Dispose();
            gate.Release();
            throw;
        }
    }

    private static void Lock(SafeFileHandle handle, string path)
    {
        while (flock(handle, LOCK_EX) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                throw new IOException($"flock({path}, LOCK_EX) failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})");
            }
        }
    }

    private const int O_RDWR = 0x2;
    private const int O_CREAT = 0x40;
    private const int O_CLOEXEC = 0x80000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(SafeFileHandle fd, int operation);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);

    private sealed class Held(SafeFileHandle handle, SemaphoreSlim gate) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            // Closing the descriptor releases the flock too; unlock first to make the order explicit.
            _ = flock(handle, LOCK_UN);
            handle.Dispose();
            gate.Release();
        }
    }
}
