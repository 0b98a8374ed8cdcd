using Twill.Cni.Kernel;
using Twill.Netlink;

namespace Twill.Cni.Plugins.Bridge;

/// <summary>The sysctls bridge sets, with the reference's tolerance of keys that do not exist.</summary>
internal static class BridgeSysctl
{
    public static void Ensure(string key, string value)
    {
        if (Sysctl.Read(null, key) != value)
        {
            Sysctl.Write(null, key, value);
        }
    }

    public static void Try(NetNs? ns, string key, string value)
    {
        try
        {
            Sysctl.Write(ns, key, value);
        }
        catch (IOException)
        {
            // the key does not exist here (e.g. IPv6 disabled); the reference ignores it too
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
