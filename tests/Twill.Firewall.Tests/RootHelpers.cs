using System.Text.Json;
using Twill.Firewall.Iptables;
using Twill.Testing;

namespace Twill.Firewall.Tests;

/// <summary>Runs the reference CNI plugins from /usr/lib/cni inside a test namespace, and reads tables back.</summary>
internal static class Reference
{
    public const string CniDir = "/usr/lib/cni";

    public static bool Available(string plugin) => File.Exists(Path.Combine(CniDir, plugin));

    public static string Run(TestNetns node, TestNetns pod, string plugin, string command, string containerId, string config)
    {
        Tool.Result r = Tool.Run("ip",
            ["netns", "exec", node.Name, "env", "CNI_COMMAND=" + command, "CNI_CONTAINERID=" + containerId,
             "CNI_NETNS=" + pod.Path, "CNI_IFNAME=eth0", "CNI_PATH=" + CniDir, Path.Combine(CniDir, plugin)],
            stdin: config);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"reference {plugin} {command} failed ({r.ExitCode}): {r.Stdout} {r.Stderr}");
        }
        return r.Stdout;
    }

    public static string PortmapConfig(string network, string mappingsJson, string podNetns, string ipsJson) => $$$"""
        {"cniVersion":"1.0.0","name":"{{{network}}}","type":"portmap","snat":true,
         "runtimeConfig":{"portMappings":{{{mappingsJson}}}},
         "prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"{{{podNetns}}}"}],"ips":{{{ipsJson}}}}}
        """;

    public static SavedTable Nat(TestNetns ns, IpFamily family) => Save(ns, family, "nat").Table("nat");

    public static SavedRuleset Save(TestNetns ns, IpFamily family, string? table)
    {
        string[] args = table is null ? [family.SaveTool()] : [family.SaveTool(), "-t", table];
        return SavedRuleset.Parse(ns.Exec(args).EnsureSuccess(family.SaveTool()).Stdout);
    }

    public static JsonElement NftJson(TestNetns ns, params string[] args)
    {
        string json = ns.Exec(["nft", "-j", .. args]).EnsureSuccess("nft -j " + string.Join(' ', args)).Stdout;
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public static IEnumerable<JsonElement> NftRules(JsonElement listing) =>
        listing.GetProperty("nftables").EnumerateArray()
            .Where(e => e.TryGetProperty("rule", out _))
            .Select(e => e.GetProperty("rule"));
}

/// <summary>A pod, its node and the world beyond, wired with veths, to watch what the rules do to packets.</summary>
internal static class Lab
{
    /// <summary>
    /// pod (10.244.1.2/24, gw .1) -- node (10.244.1.1 | 203.0.113.1, forwarding) -- world
    /// (203.0.113.2, plus 10.244.2.2 standing in for another node's pod, routed via the node).
    /// </summary>
    public static void Wire(TestNetns pod, TestNetns node, TestNetns world)
    {
        pod.Ip("link", "add", "eth0", "type", "veth", "peer", "name", "vpod", "netns", node.Name);
        pod.Ip("addr", "add", "10.244.1.2/24", "dev", "eth0");
        pod.Ip("link", "set", "eth0", "up");
        pod.Ip("route", "add", "default", "via", "10.244.1.1");
        node.Ip("addr", "add", "10.244.1.1/24", "dev", "vpod");
        node.Ip("link", "set", "vpod", "up");
        node.Ip("link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", world.Name);
        node.Ip("addr", "add", "203.0.113.1/24", "dev", "up0");
        node.Ip("link", "set", "up0", "up");
        node.Ip("route", "add", "10.244.2.0/24", "via", "203.0.113.2");
        world.Ip("addr", "add", "203.0.113.2/24", "dev", "eth0");
        world.Ip("addr", "add", "10.244.2.2/32", "dev", "lo");
        world.Ip("link", "set", "eth0", "up");
        world.Ip("route", "add", "10.244.1.0/24", "via", "203.0.113.1");
        node.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1").EnsureSuccess("sysctl");
    }

    /// <summary>
    /// Listens for one UDP datagram on <paramref name="bind"/>:<paramref name="port"/> in
    /// <paramref name="at"/>, sends from <paramref name="from"/> to <paramref name="to"/>:<paramref name="toPort"/>
    /// until it arrives, and returns the source address the listener saw.
    /// </summary>
    public static string SourceSeenBy(TestNetns at, string bind, int port, TestNetns from, string to, int toPort)
    {
        Task<Tool.Result> listener = Task.Run(() => at.Exec("timeout", "20", "/usr/bin/python3", "-c",
            $"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('{bind}', {port})); print(s.recvfrom(100)[1][0])"));
        for (int i = 0; i < 50 && !listener.IsCompleted; i++)
        {
            from.Exec("/usr/bin/python3", "-c",
                $"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('{to}', {toPort}))");
            listener.Wait(TimeSpan.FromMilliseconds(300));
        }
        return listener.Result.EnsureSuccess("udp listener").Stdout.Trim();
    }
}
