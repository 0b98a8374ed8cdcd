using Twill.Core;
namespace Twill.Firewall.Portmap;

/// <summary>One entry of CNI's <c>runtimeConfig.portMappings</c>.</summary>
/// <param name="HostPort">Port on the node (1..65535).</param>
/// <param name="ContainerPort">Port in the pod (1..65535).</param>
/// <param name="Protocol"><c>tcp</c>, <c>udp</c> or <c>sctp</c> (any case).</param>
/// <param name="HostIP">Only traffic to this node address; null, empty or unspecified (0.0.0.0, ::) = any.</param>
public sealed record PortMapping(int HostPort, int ContainerPort, string Protocol, string? HostIP = null);

/// <summary>Which firewall the mappings go to; the portmap config's <c>backend</c>.</summary>
public enum PortmapBackend
{
    /// <summary>iptables / ip6tables nat chains (the reference's default).</summary>
    Iptables,

    /// <summary>nftables tables <c>ip cni_hostport</c> / <c>ip6 cni_hostport</c>.</summary>
    Nftables,
}

/// <summary>
/// Everything portmap needs to forward a container's ports. The CNI adapter fills it from the
/// plugin config, <c>runtimeConfig</c> and <c>prevResult</c> (for each family, the first address on
/// the sandbox interface, as the reference picks it).
/// </summary>
/// <param name="NetworkName">The CNI network name (<c>name</c>).</param>
/// <param name="ContainerId"><c>CNI_CONTAINERID</c>.</param>
/// <param name="ContainerIPs">At most one address per family is used: the first of each.</param>
/// <param name="Mappings">The port mappings; none = nothing to do.</param>
/// <param name="Snat"><c>snat</c> (default true): masquerade hairpin and localhost traffic.</param>
/// <param name="MasqAll"><c>masqAll</c>: masquerade every source, not just the pod's subnet.</param>
/// <param name="MarkMasqBit"><c>markMasqBit</c>, 0..31, default 13.</param>
/// <param name="ExternalSetMarkChain"><c>externalSetMarkChain</c>: jump there instead of our SETMARK chain (iptables only).</param>
/// <param name="ConditionsV4"><c>conditionsV4</c>: extra iptables (or nft) match arguments on the entry rules.</param>
/// <param name="ConditionsV6"><c>conditionsV6</c>.</param>
/// <param name="Backend"><c>backend</c>.</param>
public sealed record PortmapTarget(
    string NetworkName,
    string ContainerId,
    IReadOnlyList<InterfaceAddress> ContainerIPs,
    IReadOnlyList<PortMapping> Mappings,
    bool Snat = true,
    bool MasqAll = false,
    int? MarkMasqBit = null,
    string? ExternalSetMarkChain = null,
    IReadOnlyList<string>? ConditionsV4 = null,
    IReadOnlyList<string>? ConditionsV6 = null,
    PortmapBackend Backend = PortmapBackend.Iptables)
{
    /// <summary>The reference's default: Kubernetes uses bits 14 and 15, Calico 20-31.</summary>
    public const int DefaultMarkMasqBit = 13;

    public int EffectiveMarkBit => MarkMasqBit ?? DefaultMarkMasqBit;

    /// <summary>The first container address of the family, the one the reference forwards to.</summary>
    public InterfaceAddress? AddressOf(IpFamily family)
    {
        foreach (InterfaceAddress a in ContainerIPs)
        {
            if (a.Family == family)
            {
                return a;
            }
        }
        return null;
    }

    public IReadOnlyList<string> ConditionsOf(IpFamily family) =>
        (family == IpFamily.V4 ? ConditionsV4 : ConditionsV6) ?? [];

    /// <summary>Every problem with the target, each naming the field and the value (empty = valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        List<string> errors = [];
        if (string.IsNullOrEmpty(NetworkName))
        {
            errors.Add("name: must not be empty");
        }
        if (string.IsNullOrEmpty(ContainerId))
        {
            errors.Add("containerID: must not be empty");
        }
        if (MarkMasqBit is not null && ExternalSetMarkChain is not null)
        {
            errors.Add("Cannot specify externalSetMarkChain and markMasqBit");
        }
        if (MarkMasqBit is < 0 or > 31)
        {
            errors.Add($"markMasqBit: {MarkMasqBit} is not between 0 and 31");
        }
        if (Backend == PortmapBackend.Nftables && ExternalSetMarkChain is not null)
        {
            errors.Add("nftables backend was requested but configuration contains iptables-specific options [externalSetMarkChain]");
        }
        for (int i = 0; i < Mappings.Count; i++)
        {
            PortMapping m = Mappings[i];
            if (m.ContainerPort is <= 0 or > 65535)
            {
                errors.Add($"portMappings[{i}].containerPort: invalid container port number {m.ContainerPort}");
            }
            if (m.HostPort is <= 0 or > 65535)
            {
                errors.Add($"portMappings[{i}].hostPort: invalid host port number {m.HostPort}");
            }
            if (m.Protocol.ToLowerInvariant() is not ("tcp" or "udp" or "sctp"))
            {
                errors.Add($"portMappings[{i}].protocol: {m.Protocol} is not tcp, udp or sctp");
            }
            if (!string.IsNullOrEmpty(m.HostIP) && !System.Net.IPAddress.TryParse(m.HostIP, out _))
            {
                errors.Add($"portMappings[{i}].hostIP: {m.HostIP} is not an IP address");
            }
        }
        return errors;
    }

    internal void EnsureValid()
    {
        IReadOnlyList<string> errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid portmap configuration: " + string.Join("; ", errors));
        }
    }
}

/// <summary>What an ADD did besides the rules: the reference only logs these, so do we.</summary>
/// <param name="Warnings">Non-fatal problems (stale UDP conntrack entries that could not be flushed).</param>
public sealed record PortmapOutcome(IReadOnlyList<string> Warnings);
