using System.Collections.Concurrent;
using Twill.Os;

namespace Twill.Leases.Store;

/// <summary>
/// An exclusive lock on a file shared by processes on one machine: <c>flock(LOCK_EX)</c> on a lock
/// file (Twill.Os.FileLock; .NET's FileShare is no lock one can wait on). Within one process a
/// semaphore per path queues callers first, so at most one thread per process blocks in the
/// kernel, and none of the thread pool's threads pile up waiting.
/// </summary>
internal static class FileLock
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    /// <summary>Takes the lock; dispose the result to release it.</summary>
    public static async Task<IDisposable> AcquireAsync(string path, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate = Gates.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another process holds it for a few milliseconds at most; a blocking wait is the simplest correct thing.
            Twill.Os.FileLock held = await Task.Run(() => Acquire(path), cancellationToken).ConfigureAwait(false);
            return new Held(held, gate);
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    private static Twill.Os.FileLock Acquire(string path)
    {
        try
        {
            return Twill.Os.FileLock.Acquire(path, (int)Twill.Os.PrivateFiles.FileMode);
        }
        catch (OsException e)
        {
            string call = e.Operation == "flock" ? $"flock({path}, LOCK_EX)" : $"{e.Operation}({path})";
            throw new IOException($"{call} failed: errno {e.Errno} ({e.Reason})");
        }
    }

    private sealed class Held(Twill.Os.FileLock held, SemaphoreSlim gate) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            held.Dispose();
            gate.Release();
        }
    }
}
