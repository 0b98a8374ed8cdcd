using System.Runtime.InteropServices;
using Twill.Os.Interop;

namespace Twill.Os;

/// <summary>
/// The calling thread inside another network namespace until disposed, then back in its own.
/// For a single-threaded process (a CNI plugin) whose main thread may enter the pod's namespace
/// itself instead of handing the work to a new thread (a thread start and two hand-offs). Only
/// safe where the thread runs nothing else meanwhile and no thread starts (a new thread, pool
/// threads included, would be born in the pod's namespace). Dispose on the thread that entered.
/// </summary>
public sealed class NetworkNamespaceScope : IDisposable
{
    private readonly FileDescriptor _home;
    private readonly int _thread;
    private int _disposed;

    private NetworkNamespaceScope(FileDescriptor home)
    {
        _home = home;
        _thread = Environment.CurrentManagedThreadId;
    }

    /// <summary>Enters <paramref name="ns"/> on the calling thread, remembering the thread's own namespace.</summary>
    /// <exception cref="OsException">Operation "open /proc/thread-self/ns/net" or "setns"; the thread has not moved.</exception>
    public static NetworkNamespaceScope Enter(SafeHandle ns)
    {
        int fd = Libc.Open(NetworkNamespaces.ThreadSelf, (int)(OpenFlags.ReadOnly | OpenFlags.CloseOnExec), 0);
        if (fd < 0)
        {
            throw OsException.FromLastError("open " + NetworkNamespaces.ThreadSelf);
        }
        FileDescriptor home = new(fd);
        try
        {
            NetworkNamespaces.Enter(ns);
        }
        catch
        {
            home.Dispose();
            throw;
        }
        return new NetworkNamespaceScope(home);
    }

    /// <summary>Returns the thread to its namespace; ends the process if it cannot.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (Environment.CurrentManagedThreadId != _thread)
        {
            Environment.FailFast("a network namespace scope was left on another thread than the one that entered it");
        }
        if (Libc.SetNs(_home, Libc.CloneNewNet) != 0)
        {
            // Carrying on would apply the node's changes inside the pod.
            Environment.FailFast($"could not return to the node's network namespace: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        _home.Dispose();
    }
}
