using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Twill.Core;

/// <summary>
/// The pod network's configuration, Flannel's <c>net-conf.json</c>. Read it with <see cref="Parse"/> or
/// <see cref="Load"/>: keys match case-insensitively (as Go's decoder does), unknown keys are warnings,
/// and the result is validated with Flannel's rules and defaults (SubnetLen, SubnetMin, SubnetMax
/// derived). A config built in code gets the same treatment from <see cref="Validated"/>. Decoding is
/// <see cref="NetworkConfigReader"/>'s, the rules <see cref="NetworkConfigValidator"/>'s.
/// </summary>
public sealed record NetworkConfig
{
    /// <summary>Flannel's default location (the kube-flannel ConfigMap mount).</summary>
    public const string DefaultPath = "/etc/kube-flannel/net-conf.json";

    /// <summary>Flannel enables IPv4 unless told otherwise.</summary>
    public bool EnableIPv4 { get; init; } = true;

    public bool EnableIPv6 { get; init; }

    /// <summary>Use nftables rather than iptables for masquerade/forward rules.</summary>
    public bool EnableNFTables { get; init; }

    /// <summary>The IPv4 pod network, e.g. 10.244.0.0/16. Required when <see cref="EnableIPv4"/>.</summary>
    public IPNetwork? Network { get; init; }

    /// <summary>Each node's IPv4 subnet length; 0 before validation means "derive" (24, or prefix+2 for small networks).</summary>
    public int SubnetLen { get; init; }

    /// <summary>The first subnet handed out; null before validation means "the second subnet of the network".</summary>
    public IPAddress? SubnetMin { get; init; }

    /// <summary>The last subnet handed out; null before validation means "the last subnet of the network".</summary>
    public IPAddress? SubnetMax { get; init; }

    public IPNetwork? IPv6Network { get; init; }

    /// <summary>Each node's IPv6 subnet length; 0 means derive (64, or prefix+2 for small networks).</summary>
    public int IPv6SubnetLen { get; init; }

    public IPAddress? IPv6SubnetMin { get; init; }

    public IPAddress? IPv6SubnetMax { get; init; }

    /// <summary>The backend and its options.</summary>
    public required BackendConfig Backend { get; init; }

    /// <summary>The IPv4 subnets nodes lease, or null when IPv4 is off. Only meaningful once validated.</summary>
    public SubnetPool? IPv4Pool =>
        EnableIPv4 && Network is IPNetwork network && SubnetMin is not null && SubnetMax is not null && SubnetLen > 0
            ? new SubnetPool(network, SubnetLen, SubnetMin, SubnetMax)
            : null;

    /// <summary>The IPv6 subnets nodes lease, or null when IPv6 is off. Only meaningful once validated.</summary>
    public SubnetPool? IPv6Pool =>
        EnableIPv6 && IPv6Network is IPNetwork network && IPv6SubnetMin is not null && IPv6SubnetMax is not null && IPv6SubnetLen > 0
            ? new SubnetPool(network, IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax)
            : null;

    /// <summary>Reads and validates a net-conf.json file; errors and warnings name the path.</summary>
    public static NetworkConfig Load(string path, out IReadOnlyList<string> warnings) =>
        Parse(File.ReadAllText(path), out warnings, path);

    /// <summary>
    /// Parses and validates net-conf.json text. Unknown keys come back in <paramref name="warnings"/>,
    /// one message per key. Every problem found is reported at once in a
    /// <see cref="NetworkConfigException"/>, each message naming the field and the value.
    /// </summary>
    public static NetworkConfig Parse(string json, out IReadOnlyList<string> warnings, string source = "net-conf.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        NetworkConfigReader reader = new(source);
        NetworkConfig? config = reader.Read(json);
        warnings = reader.Warnings;
        if (config is null || reader.Errors.Count > 0)
        {
            if (config is not null)
            {
                // Report the rule violations of the fields that did decode too, so one run shows every problem.
                NetworkConfigValidator.Validate(config, source, reader.Errors, reader.BadFields);
            }
            throw new NetworkConfigException(reader.Errors);
        }
        List<ConfigError> errors = [];
        NetworkConfig validated = NetworkConfigValidator.Validate(config, source, errors, reader.BadFields);
        return errors.Count > 0 ? throw new NetworkConfigException(errors) : validated;
    }

    /// <summary>
    /// This config checked with Flannel's rules (plus Twill's stricter ones), with SubnetLen, SubnetMin
    /// and SubnetMax (and their IPv6 twins) filled in. Throws <see cref="NetworkConfigException"/>
    /// listing every error.
    /// </summary>
    public NetworkConfig Validated(string source = "net-conf.json")
    {
        List<ConfigError> errors = [];
        NetworkConfig validated = NetworkConfigValidator.Validate(this, source, errors, new HashSet<string>());
        return errors.Count > 0 ? throw new NetworkConfigException(errors) : validated;
    }

    /// <summary>net-conf.json text for this config (Flannel's key names; derived values written out).</summary>
    public string ToJson()
    {
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            if (!EnableIPv4 || EnableIPv6)
            {
                w.WriteBoolean(nameof(EnableIPv4), EnableIPv4);
                w.WriteBoolean(nameof(EnableIPv6), EnableIPv6);
            }
            if (EnableNFTables)
            {
                w.WriteBoolean(nameof(EnableNFTables), true);
            }
            WriteNetwork(w, "Network", Network, "SubnetLen", SubnetLen, "SubnetMin", SubnetMin, "SubnetMax", SubnetMax);
            WriteNetwork(w, "IPv6Network", IPv6Network, "IPv6SubnetLen", IPv6SubnetLen, "IPv6SubnetMin", IPv6SubnetMin, "IPv6SubnetMax", IPv6SubnetMax);
            w.WriteStartObject(nameof(Backend));
            w.WriteString("Type", Backend.Type);
            if (Backend is VxlanBackendConfig vxlan)
            {
                w.WriteNumber("VNI", vxlan.Vni);
                if (vxlan.Port != 0)
                {
                    w.WriteNumber("Port", vxlan.Port);
                }
                if (vxlan.Mtu != 0)
                {
                    w.WriteNumber("MTU", vxlan.Mtu);
                }
                if (vxlan.Gbp)
                {
                    w.WriteBoolean("GBP", true);
                }
                if (vxlan.Learning)
                {
                    w.WriteBoolean("Learning", true);
                }
                if (vxlan.DirectRouting)
                {
                    w.WriteBoolean("DirectRouting", true);
                }
                if (vxlan.MacPrefix != VxlanBackendConfig.DefaultMacPrefix)
                {
                    w.WriteString("MacPrefix", vxlan.MacPrefix);
                }
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteNetwork(Utf8JsonWriter w, string networkKey, IPNetwork? network, string lenKey, int len, string minKey, IPAddress? min, string maxKey, IPAddress? max)
    {
        if (network is IPNetwork n)
        {
            w.WriteString(networkKey, n.ToString());
        }
        if (len != 0)
        {
            w.WriteNumber(lenKey, len);
        }
        if (min is not null)
        {
            w.WriteString(minKey, min.ToString());
        }
        if (max is not null)
        {
            w.WriteString(maxKey, max.ToString());
        }
    }
}
