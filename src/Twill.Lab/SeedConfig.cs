namespace Twill.Lab;

/// <summary>
/// The configuration of the seed document (shared/seed/README.md), verbatim: the lab runs it
/// unchanged unless the user passes --net-conf / --cni-conf.
/// </summary>
public static class SeedConfig
{
    /// <summary>net-conf.json for vxlan as the seed sets it for Windows interoperability (VNI 4096, port 4789).</summary>
    public const string VxlanNetConf =
        """{ "Network": "10.244.0.0/16", "Backend": { "Type": "vxlan", "VNI": 4096, "Port": 4789 } }""";

    /// <summary>net-conf.json for host-gw.</summary>
    public const string HostGwNetConf =
        """{ "Network": "10.244.0.0/16", "Backend": { "Type": "host-gw" } }""";

    /// <summary>The seed's CNI conflist: network vxlan0, flannel (bridge delegate) then portmap.</summary>
    public const string CniConfList =
        """
        {
          "name": "vxlan0",
          "plugins": [
            { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
            { "type": "portmap", "capabilities": { "portMappings": true } }
          ]
        }
        """;

    public static string NetConfFor(LabBackend backend) => backend switch
    {
        LabBackend.HostGw => HostGwNetConf,
        _ => VxlanNetConf,
    };
}
