using System.Text.Json;
using Twill.Cni.Protocol;

namespace Twill.Cni.Plugins.HostLocal;

/// <summary>Decodes <see cref="HostLocalNetConf"/> from the parsed config with Go's rules (see <see cref="ConfigJson"/>).</summary>
internal static class HostLocalNetConfReader
{
    public static HostLocalNetConf Read(JsonElement c)
    {
        JsonElement? ipam = ConfigJson.Object(c, "ipam", "$");
        PerContainerSections sections = ConfigJson.PerContainer(c);
        return new HostLocalNetConf
        {
            Ipam = ipam is { } i ? Ipam(i) : null,
            RuntimeConfig = sections.RuntimeConfig is { } rc ? new IpsHolder { Ips = ConfigJson.Strings(rc, "ips", "$.runtimeConfig") } : null,
            Args = !sections.HasArgs ? null : new ArgsSection
            {
                Cni = sections.ArgsCni is { } ac ? new IpsHolder { Ips = ConfigJson.Strings(ac, "ips", "$.args.cni") } : null,
            },
        };
    }

    private static IpamSection Ipam(JsonElement i)
    {
        const string p = "$.ipam";
        List<List<RangeConfig>>? ranges = null;
        if (ConfigJson.Array(i, "ranges", p) is { } sets)
        {
            ranges = [];
            for (int s = 0; s < sets.Count; s++)
            {
                string setPath = $"{p}.ranges[{s}]";
                List<RangeConfig> set = [];
                switch (sets[s].ValueKind)
                {
                    case JsonValueKind.Null:
                        break;
                    case JsonValueKind.Array:
                        int r = 0;
                        foreach (JsonElement range in sets[s].EnumerateArray())
                        {
                            set.Add(ConfigJson.Element(range, $"{setPath}[{r++}]") is { } o ? Range(o, setPath) : new RangeConfig());
                        }
                        break;
                    default:
                        throw ConfigJson.Mismatch(sets[s], "an array", setPath, "");
                }
                ranges.Add(set);
            }
        }
        List<RouteConfig>? routes = null;
        if (ConfigJson.Array(i, "routes", p) is { } rs)
        {
            routes = [];
            for (int r = 0; r < rs.Count; r++)
            {
                string routePath = $"{p}.routes[{r}]";
                JsonElement? o = ConfigJson.Element(rs[r], routePath);
                routes.Add(o is { } e
                    ? new RouteConfig
                    {
                        Dst = ConfigJson.Str(e, "dst", routePath),
                        Gw = ConfigJson.Str(e, "gw", routePath),
                        Mtu = ConfigJson.NullableInt(e, "mtu", routePath),
                        AdvMss = ConfigJson.NullableInt(e, "advmss", routePath),
                        Priority = ConfigJson.NullableInt(e, "priority", routePath),
                        Table = ConfigJson.NullableInt(e, "table", routePath),
                        Scope = ConfigJson.NullableInt(e, "scope", routePath),
                    }
                    : new RouteConfig());
            }
        }
        return new IpamSection
        {
            Type = ConfigJson.Str(i, "type", p),
            Routes = routes,
            DataDir = ConfigJson.Str(i, "dataDir", p),
            ResolvConf = ConfigJson.Str(i, "resolvConf", p),
            Ranges = ranges,
            SingleRange = Range(i, p),
        };
    }

    private static RangeConfig Range(JsonElement o, string path) => new()
    {
        Subnet = ConfigJson.Str(o, "subnet", path),
        RangeStart = ConfigJson.Str(o, "rangeStart", path),
        RangeEnd = ConfigJson.Str(o, "rangeEnd", path),
        Gateway = ConfigJson.Str(o, "gateway", path),
    };
}
