using System.Runtime.InteropServices;
using Twill.Cni.Protocol;
using Twill.Netlink;

namespace Twill.Cni.Kernel;

/// <summary>Opening CNI_NETNS with the errors the runtime needs to see, and working inside it.</summary>
internal static partial class PodNetns
{
    private const int CloneNewNet = 0x40000000;
    private const int OpenReadOnlyCloexec = 0x80000; // O_RDONLY | O_CLOEXEC

    /// <summary>
    /// Set by Program for the plugin process: its main thread may enter the pod's namespace itself
    /// and come back, instead of handing the work to a new thread (a thread start and two
    /// hand-offs, each a scheduling delay on a busy node). Safe there because the process runs
    /// nothing else on that thread and starts no thread meanwhile (a new thread would inherit the
    /// namespace). Off elsewhere (tests run plugins on pool threads): NetNs.Run's dedicated thread.
    /// </summary>
    public static bool EnterOnCallingThread { get; set; }

    /// <summary>Opens the pod's namespace; a missing one is an error naming the path.</summary>
    public static NetNs Open(string path) =>
        TryOpen(path) ?? throw new CniException(CniErrorCode.Internal, $"failed to open netns \"{path}\": no such file (is CNI_NETNS a live namespace?)");

    /// <summary>Opens the pod's namespace, or null when it is gone (DEL after the pod died).</summary>
    public static NetNs? TryOpen(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        try
        {
            return NetNs.Open(path);
        }
        catch (NetlinkException e) when (e.Errno is Errno.ENOENT)
        {
            return null;
        }
    }

    /// <summary>An rtnetlink connection whose socket lives in <paramref name="ns"/>.</summary>
    public static RtnlConnection Rtnl(NetNs ns) =>
        EnterOnCallingThread ? Run(ns, RtnlConnection.Open) : RtnlConnection.Open(ns);

    /// <summary>Runs <paramref name="action"/> inside <paramref name="ns"/> (see <see cref="EnterOnCallingThread"/>).</summary>
    public static void Run(NetNs ns, Action action) => Run(ns, () =>
    {
        action();
        return 0;
    });

    /// <inheritdoc cref="Run(NetNs, Action)"/>
    public static T Run<T>(NetNs ns, Func<T> func)
    {
        if (!EnterOnCallingThread)
        {
            return ns.Run(func);
        }
        int home = OpenFd("/proc/thread-self/ns/net", OpenReadOnlyCloexec);
        if (home < 0)
        {
            throw new CniException(CniErrorCode.Internal, $"open /proc/thread-self/ns/net failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        try
        {
            if (SetNs(ns.FileDescriptor, CloneNewNet) != 0)
            {
                throw new CniException(CniErrorCode.Internal, $"setns({ns.Path}) failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
            try
            {
                return func();
            }
            finally
            {
                if (SetNs(home, CloneNewNet) != 0)
                {
                    // Carrying on would apply the node's changes inside the pod.
                    Environment.FailFast($"could not return to the node's network namespace: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }
            }
        }
        finally
        {
            _ = CloseFd(home);
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFd(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseFd(int fd);
}
