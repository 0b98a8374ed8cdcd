using System.Globalization;
using System.Net;
using System.Text;

namespace Twill.Core;

/// <summary>
/// The hand-off from the agent to the CNI plugin: <c>/run/flannel/subnet.env</c>, in Flannel's
/// exact format. The agent writes it once the data path is ready; the flannel CNI plugin reads it
/// on every ADD.
/// <code>
/// FLANNEL_NETWORK=10.244.0.0/16
/// FLANNEL_SUBNET=10.244.3.1/24
/// FLANNEL_IPV6_NETWORK=fd00:10:244::/56      (dual-stack only)
/// FLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64    (dual-stack only)
/// FLANNEL_MTU=1450
/// FLANNEL_IPMASQ=true
/// </code>
/// </summary>
public sealed record SubnetEnv
{
    /// <summary>The default path, Flannel's.</summary>
    public const string DefaultPath = "/run/flannel/subnet.env";

    /// <summary>FLANNEL_NETWORK: the whole pod network(s). Flannel writes a comma-separated list when
    /// it manages several cluster CIDRs; the first is the one most readers use.</summary>
    public IReadOnlyList<IPNetwork> Networks { get; init; } = [];

    /// <summary>FLANNEL_SUBNET: this node's subnet as its first address (the bridge's gateway), e.g. 10.244.3.1/24.</summary>
    public InterfaceAddress? Subnet { get; init; }

    public IReadOnlyList<IPNetwork> IPv6Networks { get; init; } = [];

    public InterfaceAddress? IPv6Subnet { get; init; }

    public int? Mtu { get; init; }

    /// <summary>FLANNEL_IPMASQ: the agent masquerades pod traffic leaving the network (so the bridge must not).</summary>
    public bool? IpMasq { get; init; }

    public IPNetwork? Network => Networks.Count > 0 ? Networks[0] : null;

    public IPNetwork? IPv6Network => IPv6Networks.Count > 0 ? IPv6Networks[0] : null;

    /// <summary>Reads a subnet.env file. A missing file is reported by the caller, who knows what it means.</summary>
    public static SubnetEnv Read(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>
    /// Parses the text as Flannel's CNI plugin does: <c>KEY=VALUE</c> lines, unknown keys ignored,
    /// blank lines and <c>#</c> comments skipped. A malformed known value is an error that names it.
    /// </summary>
    public static SubnetEnv Parse(string text, string source = "subnet.env")
    {
        SubnetEnv env = new();
        int lineNumber = 0;
        foreach (string rawLine in text.Split('\n'))
        {
            lineNumber++;
            string line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"{source}:{lineNumber}: expected KEY=VALUE, got '{line}'");
            }
            string key = line[..eq].Trim();
            string value = line[(eq + 1)..].Trim();
            env = key switch
            {
                "FLANNEL_NETWORK" => env with { Networks = ParseNetworks(value, key, source) },
                "FLANNEL_SUBNET" => env with { Subnet = ParseAddress(value, key, source) },
                "FLANNEL_IPV6_NETWORK" => env with { IPv6Networks = ParseNetworks(value, key, source) },
                "FLANNEL_IPV6_SUBNET" => env with { IPv6Subnet = ParseAddress(value, key, source) },
                "FLANNEL_MTU" => env with { Mtu = ParseMtu(value, source) },
                "FLANNEL_IPMASQ" => env with { IpMasq = ParseBool(value, key, source) },
                _ => env,
            };
        }
        return env;
    }

    /// <summary>The file's text, in the order Flannel writes it.</summary>
    public string Format()
    {
        StringBuilder sb = new();
        if (Networks.Count > 0)
        {
            sb.Append("FLANNEL_NETWORK=").Append(string.Join(',', Networks)).Append('\n');
        }
        if (Subnet is { } subnet)
        {
            sb.Append("FLANNEL_SUBNET=").Append(subnet.ToString()).Append('\n');
        }
        if (IPv6Networks.Count > 0)
        {
            sb.Append("FLANNEL_IPV6_NETWORK=").Append(string.Join(',', IPv6Networks)).Append('\n');
        }
        if (IPv6Subnet is { } subnet6)
        {
            sb.Append("FLANNEL_IPV6_SUBNET=").Append(subnet6.ToString()).Append('\n');
        }
        if (Mtu is int mtu)
        {
            sb.Append("FLANNEL_MTU=").Append(mtu.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        if (IpMasq is bool masq)
        {
            sb.Append("FLANNEL_IPMASQ=").Append(masq ? "true" : "false").Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// Writes the file atomically (temporary file in the same directory, then rename), so a CNI ADD
    /// never reads a half-written file.
    /// </summary>
    public void Write(string path)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (FileStream stream = new(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                byte[] bytes = Encoding.ASCII.GetBytes(Format());
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static List<IPNetwork> ParseNetworks(string value, string key, string source)
    {
        List<IPNetwork> networks = [];
        foreach (string part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            InterfaceAddress parsed = ParseAddress(part, key, source);
            if (!parsed.Network.BaseAddress.Equals(parsed.Address))
            {
                throw new FormatException($"{source}: {key} {part} has host bits set (expected {parsed.Network})");
            }
            networks.Add(parsed.Network);
        }
        return networks;
    }

    private static InterfaceAddress ParseAddress(string value, string key, string source) =>
        InterfaceAddress.TryParse(value, out InterfaceAddress address)
            ? address
            : throw new FormatException($"{source}: {key} '{value}' is not a CIDR (e.g. 10.244.3.1/24)");

    private static int ParseMtu(string value, string source) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int mtu) && mtu is >= 68 and <= 65535
            ? mtu
            : throw new FormatException($"{source}: FLANNEL_MTU '{value}' is not an MTU (68-65535)");

    private static bool ParseBool(string value, string key, string source) =>
        value.ToLowerInvariant() switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new FormatException($"{source}: {key} '{value}' is not true or false"),
        };
}
