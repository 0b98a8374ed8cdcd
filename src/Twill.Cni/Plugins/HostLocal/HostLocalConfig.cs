using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Plugins.HostLocal;

public sealed class RangeConfig
{
    [JsonPropertyName("subnet")] public string? Subnet { get; set; }
    [JsonPropertyName("rangeStart")] public string? RangeStart { get; set; }
    [JsonPropertyName("rangeEnd")] public string? RangeEnd { get; set; }
    [JsonPropertyName("gateway")] public string? Gateway { get; set; }
}

public sealed class RouteConfig
{
    [JsonPropertyName("dst")] public string? Dst { get; set; }
    [JsonPropertyName("gw")] public string? Gw { get; set; }
    [JsonPropertyName("mtu")] public int? Mtu { get; set; }
    [JsonPropertyName("advmss")] public int? AdvMss { get; set; }
    [JsonPropertyName("priority")] public int? Priority { get; set; }
    [JsonPropertyName("table")] public int? Table { get; set; }
    [JsonPropertyName("scope")] public int? Scope { get; set; }
}

/// <summary>The "ipam" block of host-local (old single-range keys included).</summary>
public sealed class IpamSection
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("routes")] public List<RouteConfig>? Routes { get; set; }
    [JsonPropertyName("dataDir")] public string? DataDir { get; set; }
    [JsonPropertyName("resolvConf")] public string? ResolvConf { get; set; }
    [JsonPropertyName("ranges")] public List<List<RangeConfig>>? Ranges { get; set; }

    /// <summary>The old single-range keys (subnet, rangeStart, rangeEnd, gateway) beside "ranges", as Go's embedded Range.</summary>
    public RangeConfig SingleRange { get; set; } = new();
}

public sealed class IpsHolder
{
    [JsonPropertyName("ips")] public List<string>? Ips { get; set; }
}

public sealed class ArgsSection
{
    [JsonPropertyName("cni")] public IpsHolder? Cni { get; set; }
}

public sealed class HostLocalNetConf
{
    [JsonPropertyName("ipam")] public IpamSection? Ipam { get; set; }
    [JsonPropertyName("runtimeConfig")] public IpsHolder? RuntimeConfig { get; set; }
    [JsonPropertyName("args")] public ArgsSection? Args { get; set; }
}

/// <summary>host-local's validated configuration (the reference's LoadIPAMConfig).</summary>
public sealed class HostLocalConfig
{
    public const string DefaultDataDir = "/var/lib/cni/networks";

    public required string Name { get; init; }
    public required List<RangeSet> RangeSets { get; init; }
    public List<CniRoute> Routes { get; init; } = [];
    public string DataDir { get; init; } = DefaultDataDir;
    public string? ResolvConf { get; init; }

    /// <summary>Addresses asked for by CNI_ARGS IP=, runtimeConfig.ips or args.cni.ips.</summary>
    public List<IPAddress> RequestedIps { get; init; } = [];

    public static HostLocalConfig Load(CniInvocation call)
    {
        HostLocalNetConf? conf;
        try
        {
            conf = HostLocalNetConfReader.Read(call.Config);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"error unmarshall network config: {e.Message}");
        }
        IpamSection ipam = conf?.Ipam ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key");
        List<List<RangeConfig>> rawSets = [.. ipam.Ranges ?? []];
        if (ipam.SingleRange.Subnet is not null)
        {
            rawSets.Insert(0, [ipam.SingleRange]);
        }
        if (rawSets.Count == 0)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "no IP ranges specified (ipam.ranges is empty)");
        }
        List<RangeSet> sets = [];
        for (int i = 0; i < rawSets.Count; i++)
        {
            try
            {
                if (rawSets[i].Count == 0)
                {
                    throw new FormatException("empty range set");
                }
                List<IpRange> ranges = [.. rawSets[i].Select(IpRange.Canonicalize)];
                if (ranges.Select(r => r.Family).Distinct().Count() > 1)
                {
                    throw new FormatException("mixed address families");
                }
                for (int a = 0; a < ranges.Count; a++)
                {
                    for (int b = a + 1; b < ranges.Count; b++)
                    {
                        if (ranges[a].Overlaps(ranges[b]))
                        {
                            throw new FormatException($"subnets {ranges[a].Subnet} and {ranges[b].Subnet} overlap");
                        }
                    }
                }
                sets.Add(new RangeSet(ranges));
            }
            catch (FormatException e)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid range set {i}: {e.Message}");
            }
        }
        for (int a = 0; a < sets.Count; a++)
        {
            for (int b = a + 1; b < sets.Count; b++)
            {
                if (sets[a].Overlaps(sets[b]))
                {
                    throw new CniException(CniErrorCode.InvalidNetworkConfig, $"range set {a} overlaps with {b}");
                }
            }
        }
        if (!CniVersions.AtLeast(call.CniVersion, "0.3.0") && sets.GroupBy(s => s.Ranges[0].Family).Any(g => g.Count() > 1))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"CNI version {call.CniVersion} does not support more than 1 address per family");
        }
        List<CniRoute> routes = [];
        foreach (RouteConfig r in ipam.Routes ?? [])
        {
            if (!Cidrs.TryParse(r.Dst, mask: true, out InterfaceAddress dst))
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"ipam.routes: dst \"{r.Dst}\" is not a CIDR");
            }
            IPAddress? gw = null;
            if (!string.IsNullOrEmpty(r.Gw) && !IPAddress.TryParse(r.Gw, out gw))
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"ipam.routes: gw \"{r.Gw}\" is not an IP address");
            }
            routes.Add(new CniRoute(dst, gw) { Mtu = r.Mtu, AdvMss = r.AdvMss, Priority = r.Priority, Table = r.Table, Scope = r.Scope });
        }
        List<IPAddress> requested = [];
        call.Args.RequireKnown("IP");
        if (call.Args.Get("IP") is { Length: > 0 } ipArg)
        {
            foreach (string s in ipArg.Split(','))
            {
                requested.Add(ParseRequested(s, "CNI_ARGS IP"));
            }
        }
        foreach (string s in conf.RuntimeConfig?.Ips ?? [])
        {
            requested.Add(ParseRequested(s, "runtimeConfig.ips"));
        }
        foreach (string s in conf.Args?.Cni?.Ips ?? [])
        {
            requested.Add(ParseRequested(s, "args.cni.ips"));
        }
        return new HostLocalConfig
        {
            Name = call.Name,
            RangeSets = sets,
            Routes = routes,
            DataDir = string.IsNullOrEmpty(ipam.DataDir) ? DefaultDataDir : ipam.DataDir,
            ResolvConf = string.IsNullOrEmpty(ipam.ResolvConf) ? null : ipam.ResolvConf,
            RequestedIps = requested,
        };
    }

    /// <summary>An address, or an address with a prefix (the reference's ip.IP accepts both).</summary>
    private static IPAddress ParseRequested(string s, string where)
    {
        string t = s.Trim();
        int slash = t.IndexOf('/', StringComparison.Ordinal);
        string addr = slash >= 0 ? t[..slash] : t;
        return IPAddress.TryParse(addr, out IPAddress? a)
            ? a
            : throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: \"{s}\" is not an IP address");
    }
}
