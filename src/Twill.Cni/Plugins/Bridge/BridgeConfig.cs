using System.Net.NetworkInformation;
using System.Text.Json;
using System.Text.Json.Serialization;
using Twill.Cni.Protocol;

namespace Twill.Cni.Plugins.Bridge;

public sealed class IpamRef
{
    [JsonPropertyName("type")] public string? Type { get; set; }
}

public sealed class MacHolder
{
    [JsonPropertyName("mac")] public string? Mac { get; set; }
}

public sealed class BridgeArgs
{
    [JsonPropertyName("cni")] public MacHolder? Cni { get; set; }
}

/// <summary>The bridge plugin's config keys (reference 1.1.1), as decoded.</summary>
public sealed class BridgeNetConf
{
    [JsonPropertyName("bridge")] public string? Bridge { get; set; }
    [JsonPropertyName("isGateway")] public bool IsGateway { get; set; }
    [JsonPropertyName("isDefaultGateway")] public bool IsDefaultGateway { get; set; }
    [JsonPropertyName("forceAddress")] public bool ForceAddress { get; set; }
    [JsonPropertyName("ipMasq")] public bool IpMasq { get; set; }
    [JsonPropertyName("mtu")] public int Mtu { get; set; }
    [JsonPropertyName("hairpinMode")] public bool HairpinMode { get; set; }
    [JsonPropertyName("promiscMode")] public bool PromiscMode { get; set; }
    [JsonPropertyName("vlan")] public int Vlan { get; set; }
    [JsonPropertyName("macspoofchk")] public bool MacSpoofChk { get; set; }
    [JsonPropertyName("enabledad")] public bool EnableDad { get; set; }
    [JsonPropertyName("ipam")] public IpamRef? Ipam { get; set; }
    [JsonPropertyName("dns")] public JsonElement? Dns { get; set; }
    [JsonPropertyName("runtimeConfig")] public MacHolder? RuntimeConfig { get; set; }
    [JsonPropertyName("args")] public BridgeArgs? Args { get; set; }
}

/// <summary>The bridge plugin's validated configuration.</summary>
public sealed class BridgeConfig
{
    public const string DefaultBridge = "cni0";

    public required BridgeNetConf Raw { get; init; }
    public required string BridgeName { get; init; }
    public bool IsGateway { get; init; }
    public PhysicalAddress? Mac { get; init; }
    public string IpamType => Raw.Ipam?.Type ?? "";
    public CniDns? Dns { get; init; }

    public static BridgeConfig Load(CniInvocation call)
    {
        BridgeNetConf n;
        try
        {
            n = BridgeNetConfReader.Read(call.Config);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"failed to load netconf: {e.Message}");
        }
        if (n.Vlan is < 0 or > 4094)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid VLAN ID {n.Vlan} (must be between 0 and 4094)");
        }
        if (n.Vlan != 0)
        {
            throw new CniException(CniErrorCode.UnsupportedField, $"vlan {n.Vlan}: VLAN tagging is not implemented by twill's bridge yet (use the reference bridge for VLANs)");
        }
        if (n.HairpinMode && n.PromiscMode)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "cannot set hairpin mode and promiscuous mode at the same time.");
        }
        call.Args.RequireKnown("MAC");
        string? mac = call.Args.Get("MAC");
        if (!string.IsNullOrEmpty(n.Args?.Cni?.Mac))
        {
            mac = n.Args.Cni.Mac;
        }
        if (!string.IsNullOrEmpty(n.RuntimeConfig?.Mac))
        {
            mac = n.RuntimeConfig.Mac;
        }
        PhysicalAddress? parsedMac = null;
        if (!string.IsNullOrEmpty(mac))
        {
            try
            {
                parsedMac = PhysicalAddress.Parse(mac.Replace(':', '-'));
            }
            catch (FormatException)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MAC address \"{mac}\"");
            }
        }
        CniDns? dns = n.Dns is { ValueKind: JsonValueKind.Object } d ? ResultReader.ReadDns(d) : null;
        return new BridgeConfig
        {
            Raw = n,
            BridgeName = string.IsNullOrEmpty(n.Bridge) ? DefaultBridge : n.Bridge,
            IsGateway = n.IsGateway || n.IsDefaultGateway,
            Mac = parsedMac,
            Dns = dns is { IsEmpty: false } ? dns : null,
        };
    }
}
