using Twill.Os;
using Twill.Testing;

namespace Twill.Os.Tests.Namespaces;

/// <summary>Enter-and-return on one thread, each test on its own dedicated thread (never a pool thread).</summary>
public class NetworkNamespaceScopeTests
{
    private static string ThreadNamespace() => new FileInfo(NetworkNamespaces.ThreadSelf).LinkTarget!;

    private static string NamespaceOf(string path) => Tool.Check("stat", ["-L", "-c", "net:[%i]", path]).Trim();

    private static T OnDedicatedThread<T>(Func<T> func)
    {
        T result = default!;
        Exception? error = null;
        Thread t = new(() =>
        {
            try
            {
                result = func();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        t.Start();
        t.Join();
        return error is null ? result : throw new InvalidOperationException("on the dedicated thread", error);
    }

    [RootFact]
    public void Enter_Namespace_ThreadInsideUntilDisposedThenHome()
    {
        using TestNetns ns = new("scope");
        (string home, string inside, string after) = OnDedicatedThread(() =>
        {
            string home = ThreadNamespace();
            using FileDescriptor fd = FileDescriptor.Open(ns.Path, OpenFlags.ReadOnly | OpenFlags.CloseOnExec);
            string inside;
            using (NetworkNamespaceScope.Enter(fd))
            {
                inside = ThreadNamespace();
            }
            return (home, inside, ThreadNamespace());
        });
        Assert.Equal(NamespaceOf(ns.Path), inside);
        Assert.NotEqual(home, inside);
        Assert.Equal(home, after);
    }

    [RootFact]
    public void Enter_NotANamespaceFile_OsExceptionAndThreadStaysHome()
    {
        (OsException e, string before, string after) = OnDedicatedThread(() =>
        {
            string before = ThreadNamespace();
            using FileDescriptor fd = FileDescriptor.Open("/proc/self/status", OpenFlags.ReadOnly | OpenFlags.CloseOnExec);
            OsException e = Assert.Throws<OsException>(() => NetworkNamespaceScope.Enter(fd));
            return (e, before, ThreadNamespace());
        });
        Assert.Equal("setns", e.Operation);
        Assert.Equal(22, e.Errno); // EINVAL
        Assert.Equal(before, after);
    }
}
