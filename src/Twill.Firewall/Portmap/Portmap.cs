using Twill.Firewall.Iptables;
using Twill.Core;

namespace Twill.Firewall.Portmap;

/// <summary>
/// Host port forwarding for a container, as the reference portmap plugin does it, but applied as
/// one atomic write (<c>iptables-restore --noflush</c>) per address family the container has an
/// address in, under a lock so parallel ADDs do not race. The write is first planned blind (the
/// usual case: shared chains in place, container new); when that plan's assumptions fail, the
/// restore rejects it whole and the change is planned again on a read (<c>iptables-save -t nat</c>).
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
            else if (!IptablesTool.TryRestore(runner, family, PortmapIptablesRules.FastAddScript(target, container)))
            {
                // The node's first pod, a repeated ADD or a table someone changed: plan on a dump.
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
    /// <param name="added">
    /// What the ADD forwarded, when DEL's config tells (its portMappings and prevResult): then only
    /// the families the container had an address in are touched (ADD wrote nothing elsewhere), and
    /// each in one process when the rules are exactly as that ADD left them. Null: both families,
    /// each read before it is changed (one process when there is nothing to delete).
    /// </param>
    public static void Delete(string networkName, string containerId, IFirewallRunner runner,
        PortmapBackend backend = PortmapBackend.Iptables, PortmapTarget? added = null)
    {
        if (backend == PortmapBackend.Nftables)
        {
            PortmapNftables.Delete(runner, containerId);
            return;
        }
        if (added is not null && (added.NetworkName != networkName || added.ContainerId != containerId))
        {
            throw new ArgumentException($"the target of DEL is {networkName}/{containerId}, not {added.NetworkName}/{added.ContainerId}", nameof(added));
        }
        List<FirewallException> failures = [];
        int usable = 0;
        bool familiesKnown = added is not null && added.ContainerIPs.Count > 0;
        foreach (IpFamily family in Families)
        {
            if (familiesKnown && added!.AddressOf(family) is null)
            {
                continue;
            }
            IReadOnlyList<string> entries = added is null ? [] : PortmapIptablesRules.DnatEntryRules(added, family);
            if (PortmapIptablesRules.FastDeleteScript(networkName, containerId, entries) is { } fast
                && IptablesTool.TryRestore(runner, family, fast))
            {
                usable++;
                continue;
            }
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
