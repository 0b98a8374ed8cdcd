using System.Text.Json;
using Twill.Leases;
using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>
/// Two agents that start from the same saved VtepMAC (here: one state directory shared by both, as
/// two agents on one machine without --state-dir, or a node image cloned with its /var/lib/twill):
/// the second must not publish the MAC the first one's lease holds, or each would ignore the other
/// ("already another peer's") and their pods could not talk.
/// </summary>
public class VtepMacCollisionLabTests
{
    private const string VxlanConf = """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""";

    private static string Diagnose(AgentLab lab) => string.Join("\n---\n", Enumerable.Range(0, lab.Nodes.Count).Select(lab.Log));

    [RootFact]
    public void SharedStateDir_SecondAgentTakesANewMac_PodsTalk_AndAgainAfterTheFirstRestarts()
    {
        using AgentLab lab = new(VxlanConf, 2, sharedStateDir: true, oneByOne: true);

        Assert.True(AgentLab.Eventually(() => lab.Ping(0, 1) && lab.Ping(1, 0), TimeSpan.FromSeconds(30)), Diagnose(lab));
        Assert.Contains("is already published by lease", lab.Log(1), StringComparison.Ordinal);
        AssertMacsDistinctAndOnTheDevices(lab);

        // The first agent restarts and finds the shared state file holding the second one's MAC: it too
        // must take a new one (its own lease, with its old MAC, is not "another node's").
        Assert.Equal(0, lab.StopAgent(0));
        lab.StartAgent(0);
        Assert.True(AgentLab.Eventually(() => lab.Log(0).Split('\n').Count(l => l.Contains("Data path ready", StringComparison.Ordinal)) >= 2,
            TimeSpan.FromSeconds(30)), Diagnose(lab));
        Assert.True(AgentLab.Eventually(() => lab.Ping(0, 1) && lab.Ping(1, 0), TimeSpan.FromSeconds(30)), Diagnose(lab));
        Assert.Single(lab.Log(0).Split('\n'), l => l.Contains("is already published by lease", StringComparison.Ordinal));
        AssertMacsDistinctAndOnTheDevices(lab);
        Assert.DoesNotContain("already another peer's", Diagnose(lab), StringComparison.Ordinal);
    }

    /// <summary>The leases publish two different VtepMACs, and each node's flannel.4096 carries the one its lease publishes.</summary>
    private static void AssertMacsDistinctAndOnTheDevices(AgentLab lab)
    {
        Dictionary<string, string> leaseMacs = LeaseMacsByPublicIp(lab);
        Assert.Equal(2, leaseMacs.Count);
        Assert.NotEqual(leaseMacs["192.0.2.11"], leaseMacs["192.0.2.12"]);
        for (int i = 0; i < 2; i++)
        {
            string expected = leaseMacs[$"192.0.2.{11 + i}"];
            Assert.True(AgentLab.Eventually(() => DeviceMac(lab, i) == expected, TimeSpan.FromSeconds(30)),
                $"node {i + 1}: device MAC {DeviceMac(lab, i)}, lease {expected}\n{Diagnose(lab)}");
        }
    }

    private static Dictionary<string, string> LeaseMacsByPublicIp(AgentLab lab)
    {
        FileLeaseStore store = new(lab.StoreDir);
        LeaseListing listing = store.ListAsync(CancellationToken.None).GetAwaiter().GetResult();
        store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Dictionary<string, string> macs = [];
        foreach (LeaseRecord record in listing.Records)
        {
            Assert.True(Lease.TryFromRecord(record, out Lease? lease, out string? error), error);
            macs[lease.Attrs.PublicIP.ToString()] = lease.Attrs.VxlanData!.VtepMacText;
        }
        return macs;
    }

    private static string? DeviceMac(AgentLab lab, int node)
    {
        using JsonDocument doc = JsonDocument.Parse(lab.Nodes[node].Ip("-j", "link", "show", "flannel.4096"));
        return doc.RootElement[0].GetProperty("address").GetString();
    }
}
