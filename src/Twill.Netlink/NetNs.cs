using System.Runtime.ExceptionServices;
using Twill.Os;

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

    private NetNs(Twill.Os.FileDescriptor handle, string path, string? name)
    {
        Handle = handle;
        Path = path;
        Name = name;
    }

    /// <summary>The namespace file this was opened from (/var/run/netns/NAME, /proc/PID/ns/net).</summary>
    public string Path { get; }

    /// <summary>The `ip netns` name, when opened from /var/run/netns; otherwise null.</summary>
    public string? Name { get; }

    /// <summary>The open namespace file, for setns (<see cref="NetworkNamespaceScope"/>). Valid until Dispose.</summary>
    public Twill.Os.FileDescriptor Handle { get; }

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
        Call($"netns add {name}: create {path}", () => Twill.Os.FileDescriptor.Open(path, OpenFlags.ReadOnly | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.CloseOnExec).Dispose());
        try
        {
            RunOnDedicatedThread(() =>
            {
                Call($"netns add {name}: unshare(CLONE_NEWNET)", NetworkNamespaces.UnshareNew);
                Call($"netns add {name}: bind mount onto {path}", () => Mounts.Bind(NetworkNamespaces.ThreadSelf, path));
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
        try
        {
            Mounts.DetachUnmount(path);
        }
        catch (OsException e) when (e.Errno == Mounts.NotMounted)
        {
        }
        catch (OsException e)
        {
            throw new NetlinkException((Errno)e.Errno, $"netns delete {name}: umount {path}");
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
        Twill.Os.FileDescriptor fd;
        try
        {
            fd = Twill.Os.FileDescriptor.Open(path, OpenFlags.ReadOnly | OpenFlags.CloseOnExec);
        }
        catch (OsException e)
        {
            throw new NetlinkException((Errno)e.Errno, $"open netns {path}");
        }
        string? name = System.IO.Path.GetDirectoryName(path) is "/var/run/netns" or "/run/netns"
            ? System.IO.Path.GetFileName(path)
            : null;
        return new NetNs(fd, path, name);
    }

    /// <summary>The calling thread's namespace (/proc/thread-self/ns/net).</summary>
    public static NetNs OpenCurrent() => Open(NetworkNamespaces.ThreadSelf);

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
        Twill.Os.FileDescriptor handle = Handle;
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return RunOnDedicatedThread(() =>
            {
                Call($"setns({Path})", () => NetworkNamespaces.Enter(handle));
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
        try
        {
            Mounts.MakeRecursivelyShared(RunDirectory);
        }
        catch (OsException e) when (e.Errno == Mounts.NotMounted)
        {
            Call($"mount --bind {RunDirectory} {RunDirectory}", () => Mounts.Bind(RunDirectory, RunDirectory, recursive: true));
            Call($"mount --make-rshared {RunDirectory}", () => Mounts.MakeRecursivelyShared(RunDirectory));
        }
        catch (OsException e)
        {
            throw new NetlinkException((Errno)e.Errno, $"mount --make-rshared {RunDirectory}");
        }
    }

    /// <summary>Runs a Twill.Os call, reporting its failure as netlink callers expect: errno and what was asked.</summary>
    private static void Call(string request, Action call)
    {
        try
        {
            call();
        }
        catch (OsException e)
        {
            throw new NetlinkException((Errno)e.Errno, request);
        }
    }
}
