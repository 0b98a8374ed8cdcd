using System.Text.Json;
using Twill.Cni.Protocol;

namespace Twill.Cni.Plugins.Bridge;

/// <summary>Decodes <see cref="BridgeNetConf"/> from the parsed config with Go's rules (see <see cref="ConfigJson"/>).</summary>
internal static class BridgeNetConfReader
{
    public static BridgeNetConf Read(JsonElement c)
    {
        const string p = "$";
        JsonElement? ipam = ConfigJson.Object(c, "ipam", p);
        PerContainerSections sections = ConfigJson.PerContainer(c);
        return new BridgeNetConf
        {
            Bridge = ConfigJson.Str(c, "bridge", p),
            IsGateway = ConfigJson.Bool(c, "isGateway", p),
            IsDefaultGateway = ConfigJson.Bool(c, "isDefaultGateway", p),
            ForceAddress = ConfigJson.Bool(c, "forceAddress", p),
            IpMasq = ConfigJson.Bool(c, "ipMasq", p),
            Mtu = ConfigJson.Int(c, "mtu", p),
            HairpinMode = ConfigJson.Bool(c, "hairpinMode", p),
            PromiscMode = ConfigJson.Bool(c, "promiscMode", p),
            Vlan = ConfigJson.Int(c, "vlan", p),
            MacSpoofChk = ConfigJson.Bool(c, "macspoofchk", p),
            EnableDad = ConfigJson.Bool(c, "enabledad", p),
            Ipam = ipam is { } i ? new IpamRef { Type = ConfigJson.Str(i, "type", "$.ipam") } : null,
            Dns = ConfigJson.Get(c, "dns") is { ValueKind: not JsonValueKind.Null } dns ? dns : null,
            RuntimeConfig = sections.RuntimeConfig is { } rc ? new MacHolder { Mac = ConfigJson.Str(rc, "mac", "$.runtimeConfig") } : null,
            Args = !sections.HasArgs ? null : new BridgeArgs
            {
                Cni = sections.ArgsCni is { } ac ? new MacHolder { Mac = ConfigJson.Str(ac, "mac", "$.args.cni") } : null,
            },
        };
    }
}
