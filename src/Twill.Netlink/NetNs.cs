using System.Runtime.ExceptionServices;
using Twill.Netlink.Interop;

namespace Twill.Netlink;

/// <summary>
/// A network namespace held open by a file descriptor. Named namespaces are compatible with
/// `ip netns`: a bind mount of the namespace file at /var/run/netns/NAME, on a shared mount point.
/// </summary>
/// <remarks>
/// setns(2) changes only the calling OS thread, and .NET thread-pool threads inherit a thread's
/// namespace when the pool grows from it. So this type never calls setns on the caller's thread:
/// <see cref="Run{T}"/> and <see cref="RtnlConnection.Open(NetNs)"/> use a short-lived dedicated
/// thread that enters the namespace, does its one job, and ends.
/// </remarks>
public sealed class NetNs : IDisposable
{
    /// <summary>Where `ip netns` keeps named namespaces.</summary>
    public const string RunDirectory = "/var/run/netns";

    private NetNs(FileDescriptorHandle handle, string path, string? name)
    {
        Handle = handle;
        Path = path;
        Name = name;
    }

    /// <summary>The namespace file this was opened from (/var/run/netns/NAME, /proc/PID/ns/net).</summary>
    public string Path { get; }

    /// <summary>The `ip netns` name, when opened from /var/run/netns; otherwise null.</summary>
    public string? Name { get; }

    internal FileDescriptorHandle Handle { get; }

    /// <summary>The open fd (for IFLA_NET_NS_FD and the like). Valid until Dispose.</summary>
    public int FileDescriptor => Handle.Fd;

    /// <summary>`ip netns add NAME`: a new namespace bind-mounted at /var/run/netns/NAME.</summary>
    /// <exception cref="NetlinkException">EEXIST when the name is taken; EPERM without CAP_SYS_ADMIN.</exception>
    public static NetNs Create(string name)
    {
        ValidateName(name);
        Directory.CreateDirectory(RunDirectory);
        MakeRunDirectoryShared();
        string path = PathOf(name);
        int fd = Libc.Open(path, Libc.ORdOnly | Libc.OCreat | Libc.OExcl | Libc.OCloexec, 0);
        if (fd < 0)
        {
            throw new NetlinkException((Errno)Libc.LastErrno, $"netns add {name}: create {path}");
        }
        Libc.Close(fd);
        try
        {
            RunOnDedicatedThread(() =>
            {
                if (Libc.Unshare(Libc.CloneNewNet) != 0)
                {
                    throw NetlinkException.FromLastError($"netns add {name}: unshare(CLONE_NEWNET)");
                }
                if (Libc.Mount("/proc/thread-self/ns/net", path, "none", Libc.MsBind, 0) != 0)
                {
                    throw NetlinkException.FromLastError($"netns add {name}: bind mount onto {path}");
                }
                return 0;
            });
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        return Open(path);
    }

    /// <summary>`ip netns delete NAME`: unmounts and removes /var/run/netns/NAME. Returns false when it did not exist.</summary>
    public static bool Delete(string name)
    {
        ValidateName(name);
        string path = PathOf(name);
        if (!File.Exists(path))
        {
            return false;
        }
        // Lazy unmount, as iproute2 does: processes still inside keep the namespace alive.
        if (Libc.Umount2(path, Libc.MntDetach) != 0 && Libc.LastErrno != Libc.EINVAL)
        {
            throw NetlinkException.FromLastError($"netns delete {name}: umount {path}");
        }
        File.Delete(path);
        return true;
    }

    /// <summary>Whether /var/run/netns/NAME exists.</summary>
    public static bool Exists(string name) => File.Exists(PathOf(name));

    /// <summary>The names under /var/run/netns (`ip netns list`).</summary>
    public static IReadOnlyList<string> List() =>
        Directory.Exists(RunDirectory)
            ? [.. Directory.GetFiles(RunDirectory).Select(System.IO.Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];

    /// <summary>Opens a namespace file: /var/run/netns/NAME, /proc/PID/ns/net, or a bare NAME.</summary>
    public static NetNs Open(string pathOrName)
    {
        string path = pathOrName.Contains('/', StringComparison.Ordinal) ? pathOrName : PathOf(pathOrName);
        int fd = Libc.Open(path, Libc.ORdOnly | Libc.OCloexec, 0);
        if (fd < 0)
        {
            throw new NetlinkException((Errno)Libc.LastErrno, $"open netns {path}");
        }
        string? name = System.IO.Path.GetDirectoryName(path) is "/var/run/netns" or "/run/netns"
            ? System.IO.Path.GetFileName(path)
            : null;
        return new NetNs(new FileDescriptorHandle(fd), path, name);
    }

    /// <summary>The calling thread's namespace (/proc/thread-self/ns/net).</summary>
    public static NetNs OpenCurrent() => Open("/proc/thread-self/ns/net");

    /// <summary>
    /// Runs <paramref name="action"/> on a new thread that first enters this namespace, and waits.
    /// Keep it short and synchronous: no await, no Task.Run, no timers, nothing that queues work to
    /// the thread pool (a pool thread started from here would be born in this namespace).
    /// Exceptions are rethrown on the caller.
    /// </summary>
    public void Run(Action action) => Run(() =>
    {
        action();
        return 0;
    });

    /// <inheritdoc cref="Run(Action)"/>
    public T Run<T>(Func<T> func)
    {
        FileDescriptorHandle handle = Handle;
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return RunOnDedicatedThread(() =>
            {
                if (Libc.SetNs(handle, Libc.CloneNewNet) != 0)
                {
                    throw NetlinkException.FromLastError($"setns({Path})");
                }
                return func();
            });
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public void Dispose() => Handle.Dispose();

    public override string ToString() => Name ?? Path;

    internal static T RunOnDedicatedThread<T>(Func<T> func)
    {
        T result = default!;
        ExceptionDispatchInfo? error = null;
        Thread thread = new(() =>
        {
            try
            {
                result = func();
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "twill-netns",
        };
        thread.Start();
        thread.Join();
        error?.Throw();
        return result;
    }

    private static string PathOf(string name) => RunDirectory + "/" + name;

    private static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new ArgumentException($"invalid namespace name '{name}'", nameof(name));
        }
    }

    /// <summary>
    /// Like iproute2: make /var/run/netns a shared mount point (bind-mounting it onto itself the
    /// first time) so namespace mounts propagate to other mount namespaces (containers, kubelet).
    /// </summary>
    private static void MakeRunDirectoryShared()
    {
        bool boundOnce = false;
        while (Libc.Mount("", RunDirectory, "none", Libc.MsShared | Libc.MsRec, 0) != 0)
        {
            if (Libc.LastErrno != Libc.EINVAL || boundOnce)
            {
                throw NetlinkException.FromLastError($"mount --make-rshared {RunDirectory}");
            }
            if (Libc.Mount(RunDirectory, RunDirectory, "none", Libc.MsBind | Libc.MsRec, 0) != 0)
            {
                throw NetlinkException.FromLastError($"mount --bind {RunDirectory} {RunDirectory}");
            }
            boundOnce = true;
        }
    }
}
