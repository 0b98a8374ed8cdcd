using System.Text.Json.Nodes;
using Twill.Cni.Conformance.Harness;
using Twill.Testing;

namespace Twill.Cni.Conformance;

/// <summary>
/// host-local, called directly as a delegating plugin would: results, round-robin order, exhaustion,
/// requested addresses, and its data dir byte for byte (a node must be able to switch implementations).
/// </summary>
public sealed class HostLocalTests
{
    private static readonly string[] HostLocal = ["host-local"];

    private static NetworkList Ipam(Run run, string ipam, string version = "1.0.0", string extra = "")
    {
        JsonObject i = JsonNode.Parse(ipam)!.AsObject();
        i["type"] = "host-local";
        i["dataDir"] = run.Node.IpamDir;
        JsonObject conf = new() { ["cniVersion"] = version, ["name"] = "confnet", ["type"] = "host-local", ["ipam"] = i };
        if (extra.Length > 0)
        {
            Configs.Merge(conf, JsonNode.Parse(extra)!.AsObject());
        }
        return NetworkList.Single(conf.ToJsonString());
    }

    private static Attachment Ctr(string id) => new(id, null) { Netns = "/var/run/netns/unused-by-host-local" };

    [RootTheory]
    [MemberData(nameof(Configs.VersionData), MemberType = typeof(Configs))]
    public void Allocate_RoundRobin_MatchesReferenceBytes(string version) => Oracle.Compare(HostLocal, run =>
    {
        NetworkList net = Ipam(run, """{"ranges":[[{"subnet":"10.244.7.0/24"}]]}""", version);
        Attachment a = Ctr("ctr-a"), b = Ctr("ctr-b"), c = Ctr("ctr-c"), d = Ctr("ctr-d"), e = Ctr("ctr-e");
        run.Add(net, a);
        run.Add(net, b);
        run.Add(net, c);
        run.DataDir("after a, b, c");
        run.Del(net, b);
        run.Add(net, d); // round-robin: after the last reserved, not the freed .3
        run.DataDir("after DEL b, ADD d");
        run.Del(net, a);
        run.Del(net, c);
        run.Del(net, d);
        run.Del(net, d, "DEL ctr-d again");
        run.Del(net, Ctr("ctr-never"), "DEL never added");
        run.Add(net, e);
        run.DataDir("after DEL a, c, d and ADD e");
        run.Del(net, e);
        run.DataDir("after all DELs");
    });

    [RootFact]
    public void Allocate_RangeStartEndExhausted_ReportsRangeSet() => Oracle.Compare(HostLocal, run =>
    {
        NetworkList net = Ipam(run, """{"ranges":[[{"subnet":"10.244.7.0/24","rangeStart":"10.244.7.10","rangeEnd":"10.244.7.12"}]]}""");
        foreach (string id in (string[])["ctr-a", "ctr-b", "ctr-c"])
        {
            run.Add(net, Ctr(id));
        }
        CniOutcome full = run.Record("ADD ctr-d (pool exhausted)", Libcni.Add(run.Node, net, Ctr("ctr-d")), exactMessage: true);
        Assert.Contains("no IP addresses available in range set: 10.244.7.10-10.244.7.12", full.ErrorMessage, StringComparison.Ordinal);
        run.DataDir("exhausted");
    });

    [RootFact]
    public void Allocate_RangeSetOfTwoRanges_FillsInOrderThenExhausts() => Oracle.Compare(HostLocal, run =>
    {
        NetworkList net = Ipam(run, """{"ranges":[[{"subnet":"10.244.7.0/30"},{"subnet":"10.244.8.0/30"}]]}""");
        run.Add(net, Ctr("ctr-a"));
        run.Add(net, Ctr("ctr-b"));
        run.Record("ADD ctr-c (pool exhausted)", Libcni.Add(run.Node, net, Ctr("ctr-c")), exactMessage: true);
        run.DataDir("exhausted");
    });

    private static readonly Dictionary<string, (string Ipam, string Extra, string? Args, string? CapIps)> Options = new()
    {
        ["dual stack range sets"] = ("""{"ranges":[[{"subnet":"10.244.7.0/24"}],[{"subnet":"fd00:10:244:7::/64"}]]}""", "", null, null),
        ["explicit gateway"] = ("""{"ranges":[[{"subnet":"10.244.7.0/24","gateway":"10.244.7.254"}]]}""", "", null, null),
        ["routes"] = ("""{"ranges":[[{"subnet":"10.244.7.0/24"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"10.0.0.0/8","gw":"10.244.7.254"}]}""", "", null, null),
        ["legacy subnet keys"] = ("""{"subnet":"10.244.7.0/24","rangeStart":"10.244.7.100","rangeEnd":"10.244.7.200","gateway":"10.244.7.1"}""", "", null, null),
        ["resolvConf"] = ("""{"ranges":[[{"subnet":"10.244.7.0/24"}]],"resolvConf":"$DIR/resolv.conf"}""", "", null, null),
        ["requested IP in CNI_ARGS"] = ("""{"ranges":[[{"subnet":"10.244.7.0/24"}]]}""", "", "IgnoreUnknown=1;IP=10.244.7.50", null),
        ["requested IP in args.cni.ips"] = ("""{"ranges":[[{"subnet":"10.244.7.0/24"}]]}""", """{"args":{"cni":{"ips":["10.244.7.51"]}}}""", null, null),
        ["requested IP in runtimeConfig.ips"] = ("""{"ranges":[[{"subnet":"10.244.7.0/24"}]]}""", """{"capabilities":{"ips":true}}""", null, "10.244.7.52/24"),
        ["requested IP outside the range"] = ("""{"ranges":[[{"subnet":"10.244.7.0/24"}]]}""", "", "IP=10.99.0.5", null),
    };

    public static TheoryData<string> OptionNames() => [.. Options.Keys];

    [RootTheory]
    [MemberData(nameof(OptionNames))]
    public void Allocate_Option_MatchesReference(string option) => Oracle.Compare(HostLocal, run =>
    {
        (string ipam, string extra, string? args, string? capIps) = Options[option];
        File.WriteAllText(Path.Combine(run.Node.Dir, "resolv.conf"), "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch cluster.local svc.cluster.local\noptions ndots:5\ndomain example.test\n");
        NetworkList net = Ipam(run, run.Node.Expand(ipam), extra: extra);
        JsonObject? caps = capIps is null ? null : new JsonObject { ["ips"] = new JsonArray(capIps) };
        Attachment a = new("ctr-a", null) { Netns = "/var/run/netns/unused", Args = args, CapabilityArgs = caps };
        run.Add(net, a);
        // The same address asked for twice must be refused the second time.
        Attachment again = new("ctr-b", null) { Netns = "/var/run/netns/unused", Args = args, CapabilityArgs = caps };
        run.Add(net, again);
        run.DataDir("after ADDs");
        run.Del(net, a);
        run.Del(net, again);
        run.DataDir("after DELs");
    });

    /// <summary>
    /// A node switches plugin sets with pods running: the two share one data dir (the reference
    /// ADDs, ours ADDs and DELs, the reference ADDs again). No address is handed out twice and the
    /// files are what the reference alone would have written.
    /// </summary>
    [RootFact]
    public void SharedDataDir_ReferenceThenOurs_NoDuplicateAddress()
    {
        PluginDirs.EnsurePresent(PluginSet.Ours, "host-local");
        IReadOnlyList<string> mixed = Run(mixedNode: true);
        IReadOnlyList<string> pure = Run(mixedNode: false);
        Assert.Null(Oracle.Diff(pure, mixed));

        static IReadOnlyList<string> Run(bool mixedNode) => Oracle.Transcript(PluginSet.Reference, run =>
        {
            NetworkList net = Ipam(run, """{"ranges":[[{"subnet":"10.244.7.0/24"}]]}""");
            string ours = mixedNode ? PluginDirs.Ours : PluginDirs.Reference;
            CniOutcome Step(string dir, string cmd, string id) => run.Record($"{cmd} {id}", CniExec.Run(dir, "host-local", new CniRequest
            {
                Command = cmd,
                ContainerId = id,
                Netns = "/var/run/netns/unused",
                Config = Libcni.BuildConfig(net, net.Plugins[0]!.AsObject(), null, null),
            }, null));
            Step(PluginDirs.Reference, "ADD", "ctr-a");
            Step(PluginDirs.Reference, "ADD", "ctr-b");
            Step(ours, "ADD", "ctr-c");
            Step(ours, "DEL", "ctr-a");
            Step(ours, "ADD", "ctr-d");
            Step(PluginDirs.Reference, "ADD", "ctr-e");
            Step(PluginDirs.Reference, "DEL", "ctr-c");
            Step(ours, "DEL", "ctr-d");
            run.DataDir("end");
        });
    }
}
