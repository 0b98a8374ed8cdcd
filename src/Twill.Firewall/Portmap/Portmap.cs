using Twill.Firewall.Iptables;

namespace Twill.Firewall.Portmap;

/// <summary>
/// Host port forwarding for a container, as the reference portmap plugin does it, but applied as
/// one read (<c>iptables-save -t nat</c>) and one atomic write (<c>iptables-restore --noflush</c>)
/// per address family, under a lock so parallel ADDs do not race.
/// </summary>
public static class Portmap
{
    private static readonly IpFamily[] Families = [IpFamily.V4, IpFamily.V6];

    /// <summary>
    /// Forwards the target's ports to its container (CNI ADD). Idempotent: a repeated ADD leaves the
    /// same rules. Flushes stale UDP conntrack entries of the host ports afterwards, as the
    /// reference does; failures there are returned as warnings, not thrown.
    /// </summary>
    /// <remarks>
    /// The caller (the CNI plugin) sets <c>net.ipv4.conf.&lt;host if&gt;.route_localnet=1</c> on the
    /// interface that routes to the container when Snat is on, so localhost can reach the port.
    /// </remarks>
    public static PortmapOutcome Add(PortmapTarget target, IFirewallRunner runner)
    {
        target.EnsureValid();
        List<string> warnings = [];
        if (target.Mappings.Count == 0)
        {
            return new PortmapOutcome(warnings);
        }
        foreach (IpFamily family in Families)
        {
            if (target.AddressOf(family) is not InterfaceAddress container)
            {
                continue;
            }
            if (target.Backend == PortmapBackend.Nftables)
            {
                PortmapNftables.Add(runner, target, container);
            }
            else
            {
                IptablesTool.Transact(runner, family, PortmapIptablesRules.Table, saved =>
                    PortmapIptablesRules.PlanAdd(saved.Table(PortmapIptablesRules.Table), target, container).Render());
            }
            warnings.AddRange(Conntrack.DeleteUdpByDestinationPort(runner, family, target.Mappings));
        }
        return new PortmapOutcome(warnings);
    }

    /// <summary>
    /// Removes the container's forwarding (CNI DEL) in both families and both backends' layouts we
    /// know for <paramref name="backend"/>. Succeeds when nothing is there; removes rules the reference
    /// plugin made for the same container too, since chain names and comments are the same.
    /// </summary>
    public static void Delete(string networkName, string containerId, IFirewallRunner runner,
        PortmapBackend backend = PortmapBackend.Iptables)
    {
        if (backend == PortmapBackend.Nftables)
        {
            PortmapNftables.Delete(runner, containerId);
            return;
        }
        List<FirewallException> failures = [];
        int usable = 0;
        foreach (IpFamily family in Families)
        {
            try
            {
                // A family whose tables cannot be read (no IPv6 on the node) holds nothing of ours.
                string? applied = IptablesTool.Transact(runner, family, PortmapIptablesRules.Table, saved =>
                    PortmapIptablesRules.PlanDelete(saved.Table(PortmapIptablesRules.Table), networkName, containerId).Render(),
                    optional: true);
                usable += applied is null ? 0 : 1;
            }
            catch (FirewallException e)
            {
                usable++;
                failures.Add(e);
            }
        }
        if (failures.Count > 0)
        {
            throw failures[0];
        }
        if (usable == 0)
        {
            throw new FirewallException("neither iptables nor ip6tables is usable (iptables-save failed for both)");
        }
    }

    /// <summary>What is missing for the target (empty = everything in place), for CNI CHECK.</summary>
    public static IReadOnlyList<string> Check(PortmapTarget target, IFirewallRunner runner)
    {
        target.EnsureValid();
        List<string> problems = [];
        if (target.Mappings.Count == 0)
        {
            return problems;
        }
        foreach (IpFamily family in Families)
        {
            if (target.AddressOf(family) is not InterfaceAddress container)
            {
                continue;
            }
            if (target.Backend == PortmapBackend.Nftables)
            {
                problems.AddRange(PortmapNftables.Check(runner, target, container));
                continue;
            }
            SavedTable nat = IptablesTool.Save(runner, family, PortmapIptablesRules.Table).Table(PortmapIptablesRules.Table);
            problems.AddRange(PortmapIptablesRules.Check(nat, target, container).Select(p => $"{(family == IpFamily.V4 ? "iptables" : "ip6tables")}: {p}"));
        }
        return problems;
    }
}
