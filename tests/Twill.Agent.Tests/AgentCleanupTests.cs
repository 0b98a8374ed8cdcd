using System.Text.Json;
using System.Text.RegularExpressions;
using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary><c>twill agent --cleanup [--cleanup-datapath]</c> in a node namespace: Twill's rules (and objects) go, nothing else changes.</summary>
public partial class AgentCleanupTests
{
    private const string VxlanConf = """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""";

    [GeneratedRegex(@"\[\d+:\d+\]")]
    private static partial Regex Counters();

    /// <summary>iptables-save without counters, comments, and (optionally) Twill's lines.</summary>
    private static string[] Rules(TestNetns node, bool withoutTwill)
    {
        string saved = node.Exec("iptables-save").EnsureSuccess("iptables-save").Stdout;
        return [.. saved.Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Where(l => !withoutTwill || !l.Contains("TWILL", StringComparison.Ordinal))
            .Select(l => Counters().Replace(l, ""))];
    }

    /// <summary>
    /// Every IPv4 route of every table as ip prints it; with <paramref name="withoutTwill"/>, not Twill's (proto 84)
    /// nor the kernel's on flannel.*. (IPv6 is left out: link-local addresses appear on their own while the test runs.)
    /// </summary>
    private static string[] Routes(TestNetns node, bool withoutTwill) => [.. node.IpJson("-4", "route", "show", "table", "all").EnumerateArray()
        .Where(r => !withoutTwill || !IsTwills(r))
        .Select(r => r.GetRawText())
        .Order(StringComparer.Ordinal)];

    private static bool IsTwills(JsonElement route) =>
        (route.TryGetProperty("protocol", out JsonElement p) && p.ToString() == "84")
        || (route.TryGetProperty("dev", out JsonElement d) && d.GetString()!.StartsWith("flannel.", StringComparison.Ordinal));

    /// <summary>Link names, our flannel.* devices left out when asked.</summary>
    private static string[] Links(TestNetns node, bool withoutTwill) => [.. node.IpJson("link", "show").EnumerateArray()
        .Select(l => l.GetProperty("ifname").GetString()!)
        .Where(n => !withoutTwill || !n.StartsWith("flannel.", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal)];

    private static Tool.Result Cleanup(AgentLab lab, int node, params string[] flags) =>
        Tool.Run("nsenter", ["--net=" + lab.Nodes[node].Path, AgentLab.Binary, "agent", "--cleanup", .. flags,
            "--state-dir", lab.NodeDir(node), "--log-level", "debug"]);

    [RootFact]
    public void Cleanup_ThenCleanupDatapath_TwillRulesThenObjectsGoneNothingElseChanges()
    {
        using AgentLab lab = new(VxlanConf, 2, "--ip-masq");
        TestNetns node = lab.Nodes[0];
        Assert.True(AgentLab.Eventually(() => lab.TwillRoutes(0).Length == 1 && Rules(node, false).Any(l => l.Contains("TWILL-POSTRTG", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30)), lab.Log(0));
        // Things that are not Twill's, and must survive: a rule, a chain, a route.
        node.Exec("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "203.0.113.0/24", "-j", "RETURN").EnsureSuccess("iptables -A");
        node.Exec("iptables", "-N", "OTHER-CHAIN").EnsureSuccess("iptables -N");
        node.Exec("iptables", "-A", "FORWARD", "-s", "198.51.100.0/24", "-j", "OTHER-CHAIN").EnsureSuccess("iptables -A FORWARD");
        node.Ip("route", "add", "198.51.100.0/24", "via", "192.0.2.99", "dev", "eth0");
        // The agent would put its rules back: stop it (the data path stays, as on any stop).
        Assert.Equal(0, lab.StopAgent(0));
        string[] otherRules = Rules(node, withoutTwill: true);
        string[] allRoutes = Routes(node, withoutTwill: false), otherRoutes = Routes(node, withoutTwill: true);
        string[] allLinks = Links(node, withoutTwill: false), otherLinks = Links(node, withoutTwill: true);
        Assert.Contains("flannel.4096", allLinks);
        Assert.NotEqual(allRoutes.Length, otherRoutes.Length);

        Tool.Result rulesOnly = Cleanup(lab, 0);

        Assert.True(rulesOnly.ExitCode == 0, rulesOnly.Stdout + rulesOnly.Stderr);
        Assert.DoesNotContain(Rules(node, false), l => l.Contains("TWILL", StringComparison.Ordinal));
        Assert.Equal(otherRules, Rules(node, withoutTwill: false));
        Assert.Equal(allRoutes, Routes(node, withoutTwill: false));
        Assert.Equal(allLinks, Links(node, withoutTwill: false));

        Tool.Result datapath = Cleanup(lab, 0, "--cleanup-datapath");

        Assert.True(datapath.ExitCode == 0, datapath.Stdout + datapath.Stderr);
        Assert.Empty(lab.TwillRoutes(0));
        Assert.Equal(otherRoutes, Routes(node, withoutTwill: false));
        Assert.Equal(otherLinks, Links(node, withoutTwill: false));
        Assert.Equal(otherRules, Rules(node, withoutTwill: false));
        Assert.Contains("RETURN", string.Join('\n', Rules(node, false)), StringComparison.Ordinal);
        // The other node is untouched by this node's cleanup.
        Assert.Contains("flannel.4096", Links(lab.Nodes[1], withoutTwill: false));
        Assert.Single(lab.TwillRoutes(1));
    }
}
