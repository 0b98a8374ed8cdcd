using System.Text.Json;
using Twill.Netlink;
using Twill.Testing;

namespace Twill.Netlink.Tests;

/// <summary>A throw-away namespace (made by iproute2) with a connection into it; all removed on Dispose.</summary>
internal sealed class Scene : IDisposable
{
    public Scene(string label)
    {
        Ns = new TestNetns(label);
        try
        {
            Handle = NetNs.Open(Ns.Path);
            Rtnl = RtnlConnection.Open(Handle);
        }
        catch
        {
            Ns.Dispose();
            throw;
        }
    }

    public TestNetns Ns { get; }

    public NetNs Handle { get; }

    public RtnlConnection Rtnl { get; }

    /// <summary>`ip -n NS -j -d link show dev NAME`, the single object.</summary>
    public JsonElement LinkJson(string name) => Ns.IpJson("-d", "link", "show", "dev", name)[0];

    public static Link Up(RtnlConnection c, Link l)
    {
        c.SetLinkUp(l.Index);
        return c.GetLink(l.Index);
    }

    public void Dispose()
    {
        Rtnl.Dispose();
        Handle.Dispose();
        Ns.Dispose();
    }
}
