namespace Twill.Fuzz;

/// <summary>The fuzz targets by the name <c>make fuzz TARGET=</c> takes; each one a parser of input Twill does not control.</summary>
internal static class Targets
{
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["netlink"] = NetlinkTarget.Run,
        ["netconf"] = NetConfTarget.Run,
        ["lease"] = LeaseTarget.Run,
        ["subnet-env"] = SubnetEnvTarget.Run,
        ["cni-config"] = CniConfigTarget.Run,
        ["cni-args"] = CniArgsTarget.Run,
        ["kube-node"] = KubeNodeTarget.Run,
        ["bgp"] = BgpTarget.Run,
    };
}
