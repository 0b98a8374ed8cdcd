using Twill.Firewall.Iptables;
using Twill.Core;

namespace Twill.Firewall.Masquerade;

/// <summary>
/// The bridge plugin's <c>ipMasq</c>, as the reference's <c>ip.SetupIPMasq</c> lays it out: a chain
/// <c>CNI-&lt;hash&gt;</c> in nat, jumped to from POSTROUTING for each container address, accepting
/// traffic to the container's subnet and masquerading the rest except multicast; every rule carries
/// the comment <c>name: "NET" id: "ID"</c>.
/// </summary>
public static class BridgeMasquerade
{
    public const string Table = "nat";

    public static IReadOnlyList<string> ChainRules(InterfaceAddress container, string comment) =>
    [
        $"-d {IptablesText.Prefix(container.Network)} {IptablesText.Comment(comment)} -j ACCEPT",
        $"! -d {container.Family.Multicast()} {IptablesText.Comment(comment)} -j MASQUERADE",
    ];

    public static string EntryRule(InterfaceAddress container, string chain, string comment) =>
        $"-s {IptablesText.Host(container.Address)} {IptablesText.Comment(comment)} -j {chain}";

    /// <summary>The edit for one family's addresses, rule by rule in the reference's order (each appended once).</summary>
    public static TableEdit PlanSetup(SavedTable nat, IEnumerable<InterfaceAddress> addresses, string network, string containerId)
    {
        string chain = ChainNames.Masquerade(network, containerId);
        string comment = ChainNames.MasqueradeComment(network, containerId);
        TableEdit edit = new(nat);
        foreach (InterfaceAddress a in addresses)
        {
            edit.EnsureChain(chain);
            foreach (string r in ChainRules(a, comment))
            {
                edit.AppendUnique(chain, r);
            }
            edit.AppendUnique("POSTROUTING", EntryRule(a, chain, comment));
        }
        return edit;
    }

    /// <summary>Removes the chain and every jump to it (whatever address it was for).</summary>
    public static TableEdit PlanTeardown(SavedTable nat, string network, string containerId)
    {
        TableEdit edit = new(nat);
        edit.DeleteChain(ChainNames.Masquerade(network, containerId));
        return edit;
    }

    /// <summary>Masquerades the container's traffic leaving its subnet (bridge ADD with ipMasq).</summary>
    public static void Setup(IReadOnlyList<InterfaceAddress> addresses, string network, string containerId, IFirewallRunner runner)
    {
        foreach (IGrouping<IpFamily, InterfaceAddress> family in addresses.GroupBy(a => a.Family))
        {
            IptablesTool.Transact(runner, family.Key, Table, saved =>
                PlanSetup(saved.Table(Table), family, network, containerId).Render());
        }
    }

    /// <summary>Undoes <see cref="Setup"/> in both families (bridge DEL); succeeds when nothing is there.</summary>
    public static void Teardown(string network, string containerId, IFirewallRunner runner)
    {
        foreach (IpFamily family in new[] { IpFamily.V4, IpFamily.V6 })
        {
            IptablesTool.Transact(runner, family, Table, saved =>
                PlanTeardown(saved.Table(Table), network, containerId).Render(), optional: true);
        }
    }
}
