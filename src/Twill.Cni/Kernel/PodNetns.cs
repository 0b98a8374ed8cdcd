using Twill.Cni.Protocol;
using Twill.Netlink;

namespace Twill.Cni.Kernel;

/// <summary>Opening CNI_NETNS with the errors the runtime needs to see (working inside it: <see cref="PluginContext.Run{T}"/>).</summary>
internal static class PodNetns
{
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
}
