using Twill.Netlink;
using Twill.Testing;

namespace Twill.Backends.Tests;

/// <summary>
/// A throw-away namespace for kernel tests of the reconciler: <c>eth0</c> (one end of a veth pair whose
/// other end, <c>sw0</c>, stays here too: no dummy module on every host) with 192.0.2.11/24 and
/// 2001:db8::11/64, and an rtnetlink connection inside it. Null when not root ([RootFact] skips then).
/// </summary>
internal sealed class UnderlayNamespace : IDisposable
{
    private UnderlayNamespace(TestNetns ns, NetNs handle, RtnlConnection rtnl)
    {
        Ns = ns;
        Handle = handle;
        Rtnl = rtnl;
    }

    public TestNetns Ns { get; }
    public NetNs Handle { get; }
    public RtnlConnection Rtnl { get; }

    public static UnderlayNamespace? CreateIfRoot(string label)
    {
        if (Environment.UserName != "root")
        {
            return null;
        }
        TestNetns ns = new(label);
        NetNs? handle = null;
        try
        {
            ns.Ip("link", "add", "eth0", "type", "veth", "peer", "name", "sw0");
            ns.Ip("addr", "add", "192.0.2.11/24", "dev", "eth0");
            ns.Ip("addr", "add", "2001:db8::11/64", "dev", "eth0", "nodad");
            ns.Ip("link", "set", "sw0", "up");
            ns.Ip("link", "set", "eth0", "up");
            handle = NetNs.Open(ns.Path);
            return new UnderlayNamespace(ns, handle, RtnlConnection.Open(handle));
        }
        catch
        {
            handle?.Dispose();
            ns.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Rtnl.Dispose();
        Handle.Dispose();
        Ns.Dispose();
    }
}
