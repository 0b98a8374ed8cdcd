using System.Runtime.InteropServices;
using Twill.Os.Interop;

namespace Twill.Os;

/// <summary>
/// The namespace and mount calls behind `ip netns`: setns, unshare and the bind mounts. setns and
/// unshare change only the calling OS thread; .NET pool threads born from such a thread inherit
/// its namespace, so call them only on a thread that runs nothing else (see
/// <see cref="NetworkNamespaceScope"/>).
/// </summary>
public static class NetworkNamespaces
{
    /// <summary>Where a thread's own namespace file is (not /proc/self: that is the main thread's).</summary>
    public const string ThreadSelf = "/proc/thread-self/ns/net";

    /// <summary>setns(<paramref name="ns"/>, CLONE_NEWNET) on the calling thread.</summary>
    /// <exception cref="OsException">Operation "setns".</exception>
    public static void Enter(SafeHandle ns)
    {
        if (Libc.SetNs(ns, Libc.CloneNewNet) != 0)
        {
            throw OsException.FromLastError("setns");
        }
    }

    /// <summary>unshare(CLONE_NEWNET): the calling thread moves into a new, empty namespace.</summary>
    /// <exception cref="OsException">Operation "unshare".</exception>
    public static void UnshareNew()
    {
        if (Libc.Unshare(Libc.CloneNewNet) != 0)
        {
            throw OsException.FromLastError("unshare");
        }
    }
}

/// <summary>mount(2) and umount2(2) as `ip netns` uses them.</summary>
public static class Mounts
{
    /// <summary>The errno umount2 and mount --make-rshared leave for "not a mount point".</summary>
    public const int NotMounted = Libc.EINVAL;

    /// <summary><c>mount --bind SOURCE TARGET</c>, recursively with <paramref name="recursive"/>.</summary>
    /// <exception cref="OsException">Operation "mount".</exception>
    public static void Bind(string source, string target, bool recursive = false) =>
        Mount(source, target, Libc.MsBind | (recursive ? Libc.MsRec : 0));

    /// <summary><c>mount --make-rshared TARGET</c>; EINVAL when TARGET is not a mount point.</summary>
    /// <exception cref="OsException">Operation "mount".</exception>
    public static void MakeRecursivelyShared(string target) => Mount("", target, Libc.MsShared | Libc.MsRec);

    /// <summary><c>umount --lazy TARGET</c>; EINVAL when TARGET is not a mount point.</summary>
    /// <exception cref="OsException">Operation "umount2".</exception>
    public static void DetachUnmount(string target)
    {
        if (Libc.Umount2(target, Libc.MntDetach) != 0)
        {
            throw OsException.FromLastError("umount2");
        }
    }

    private static void Mount(string source, string target, ulong flags)
    {
        if (Libc.Mount(source, target, "none", flags, 0) != 0)
        {
            throw OsException.FromLastError("mount");
        }
    }
}
