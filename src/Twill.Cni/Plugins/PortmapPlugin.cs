using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Twill.Cni.Protocol;
using Twill.Firewall;
using Twill.Firewall.Portmap;
using Twill.Netlink;
using Twill.Core;

namespace Twill.Cni.Plugins;

/// <summary>
/// portmap: a thin adapter from the CNI config to Twill.Firewall's portmap (iptables chains named
/// as the reference names them, applied in one iptables-restore per family; or nftables). It
/// passes the previous result through unchanged.
/// </summary>
public sealed class PortmapPlugin : ICniPlugin
{
    public string Type => "portmap";

    public CniResult Add(CniInvocation call)
    {
        CniResult prev = call.PrevResult ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "must be called as chained plugin (no prevResult)");
        PortmapTarget target = Target(call, prev);
        if (target.Mappings.Count == 0)
        {
            return prev;
        }
        if (target.Snat && target.AddressOf(IpFamily.V4) is { } v4)
        {
            // So that 127.0.0.1:hostPort can be DNATed across to the pod: route_localnet on the
            // node interface that routes to the pod (the bridge), as the reference sets it.
            if (RoutableInterface(v4.Address) is { } ifName)
            {
                Sysctl.Write(null, $"net/ipv4/conf/{ifName}/route_localnet", "1");
            }
        }
        try
        {
            PortmapOutcome outcome = Portmap.Add(target, call.Context.Firewall());
            foreach (string w in outcome.Warnings)
            {
                Console.Error.WriteLine("portmap: " + w);
            }
        }
        catch (FirewallException e)
        {
            throw new CniException(CniErrorCode.Internal, $"portmap: {e.Message}");
        }
        return prev;
    }

    public void Del(CniInvocation call)
    {
        PortmapBackend backend = Backend(call.Config);
        try
        {
            Portmap.Delete(call.Name, call.ContainerId, call.Context.Firewall(), backend, AddedTarget(call));
        }
        catch (FirewallException e)
        {
            throw new CniException(CniErrorCode.Internal, $"portmap: could not remove the forwarding of {call.ContainerId}: {e.Message}");
        }
    }

    /// <summary>
    /// What the ADD forwarded, as far as DEL's config tells (libcni passes the same portMappings
    /// and the cached result as prevResult); null when the config does not describe a valid
    /// target: DEL must still succeed on a config ADD would refuse, so it then reads the tables.
    /// </summary>
    private static PortmapTarget? AddedTarget(CniInvocation call)
    {
        try
        {
            return Target(call, call.PrevResult ?? new CniResult());
        }
        catch (CniException)
        {
            return null;
        }
    }

    public void Check(CniInvocation call)
    {
        CniResult prev = call.PrevResult ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "Required prevResult missing");
        PortmapTarget target = Target(call, prev);
        IReadOnlyList<string> problems = Portmap.Check(target, call.Context.Firewall());
        if (problems.Count > 0)
        {
            throw new CniException(CniErrorCode.Internal, "portmap: " + string.Join("; ", problems));
        }
    }

    /// <summary>The firewall's view of this call: config keys, runtimeConfig.portMappings, container addresses.</summary>
    public static PortmapTarget Target(CniInvocation call, CniResult prev)
    {
        JsonElement c = call.Config;
        List<PortMapping> mappings = [];
        if (call.RuntimeConfig("portMappings") is { ValueKind: JsonValueKind.Array } pm)
        {
            foreach (JsonElement m in pm.EnumerateArray())
            {
                mappings.Add(new PortMapping(Int(m, "hostPort") ?? 0, Int(m, "containerPort") ?? 0,
                    ResultReader.Str(m, "protocol") is { Length: > 0 } p ? p : "tcp", ResultReader.Str(m, "hostIP")));
            }
        }
        int? markBit = Int(c, "markMasqBit");
        string? external = ResultReader.Str(c, "externalSetMarkChain");
        PortmapBackend backend = Backend(c);
        bool masqAll = Bool(c, "masqAll") ?? false;
        PortmapTarget target = new(
            call.Name,
            call.ContainerId,
            ContainerAddresses(prev, call.IfName),
            mappings,
            Snat: Bool(c, "snat") ?? true,
            // masqAll came after 1.1.1, the reference our iptables rules are held to: 1.1.1 ignores the
            // key and marks hairpin and localhost traffic only. The nftables backend is 1.5+'s, which has it.
            MasqAll: masqAll && backend == PortmapBackend.Nftables,
            MarkMasqBit: markBit,
            ExternalSetMarkChain: external,
            ConditionsV4: Strings(c, "conditionsV4"),
            ConditionsV6: Strings(c, "conditionsV6"),
            Backend: backend);
        IReadOnlyList<string> errors = target.Validate();
        if (errors.Count > 0)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid portmap configuration: " + string.Join("; ", errors));
        }
        return target;
    }

    /// <summary>
    /// The first address of each family on the sandbox interface CNI_IFNAME (addresses marked for
    /// another or a host interface are skipped, as the reference skips them).
    /// </summary>
    public static List<InterfaceAddress> ContainerAddresses(CniResult prev, string ifName)
    {
        List<InterfaceAddress> result = [];
        foreach (CniIpConfig ip in prev.Ips)
        {
            if (result.Any(a => a.Address.AddressFamily == ip.Address.Address.AddressFamily))
            {
                continue;
            }
            if (ip.Interface is int idx && idx >= 0 && idx < prev.Interfaces.Count
                && (prev.Interfaces[idx].Name != ifName || string.IsNullOrEmpty(prev.Interfaces[idx].Sandbox)))
            {
                continue;
            }
            result.Add(ip.Address);
        }
        return result;
    }

    /// <summary>The node interface the kernel would route <paramref name="ip"/> through (longest prefix, main table).</summary>
    private static string? RoutableInterface(IPAddress ip)
    {
        using RtnlConnection rtnl = RtnlConnection.Open();
        Route? best = null;
        foreach (Route r in rtnl.DumpRoutes(AddressFamily.InterNetwork, RouteTable.Main))
        {
            if (r.OutputIndex is not null && r.Destination.Contains(ip) && (best is null || r.Destination.PrefixLength > best.Destination.PrefixLength))
            {
                best = r;
            }
        }
        return best?.OutputIndex is int index ? rtnl.TryGetLink(index)?.Name : null;
    }

    private static PortmapBackend Backend(JsonElement c) => ResultReader.Str(c, "backend") switch
    {
        null or "" or "iptables" => PortmapBackend.Iptables,
        "nftables" => PortmapBackend.Nftables,
        string other => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"backend \"{other}\": expected iptables or nftables"),
    };

    private static int? Int(JsonElement e, string name) =>
        ResultReader.TryGet(e, name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;

    /// <summary>A boolean key; any other JSON type is refused, as Go's decoder refuses it (null = absent).</summary>
    private static bool? Bool(JsonElement e, string name)
    {
        if (!ResultReader.TryGet(e, name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : throw new CniException(CniErrorCode.InvalidNetworkConfig,
                $"invalid portmap configuration: \"{name}\" must be true or false, not {v.GetRawText()}");
    }

    private static List<string>? Strings(JsonElement e, string name) =>
        ResultReader.TryGet(e, name, out JsonElement v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!)]
            : null;
}
