using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Twill.Bench.Cni;

/// <summary>
/// Runs inside a node network namespace (bench/cni puts it there). For each of N pods, interleaved
/// so both sides see the same machine noise:
///   reference: bridge (exec host-local) then portmap, from /usr/lib/cni;
///   ours:      flannel (bridge and host-local in-process) then portmap, from the Twill build;
/// each with one TCP port mapping, as libcni chains them; then DEL in reverse with prevResult.
/// Only the plugin processes are timed. The two sides use their own bridge and subnet.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        bool quick = args.Contains("--quick");
        int n = quick ? 10 : 50;
        string ours = Environment.GetEnvironmentVariable("TWILL_CNI_DIR") ?? throw new InvalidOperationException("TWILL_CNI_DIR not set");
        string refDir = Environment.GetEnvironmentVariable("REF_CNI_DIR") ?? "/usr/lib/cni";
        string work = Environment.GetEnvironmentVariable("WORK") ?? throw new InvalidOperationException("WORK not set");
        string podPrefix = Environment.GetEnvironmentVariable("POD_PREFIX") ?? throw new InvalidOperationException("POD_PREFIX not set");

        File.WriteAllText(Path.Combine(work, "subnet.env"), "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
        string refBridge = $$$"""{"cniVersion":"1.0.0","name":"benchref","type":"bridge","bridge":"cni0","isGateway":true,"isDefaultGateway":true,"hairpinMode":true,"ipMasq":false,"mtu":1450,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"dataDir":"{{{work}}}/ref-ipam"}}""";
        string ourFlannel = $$$"""{"cniVersion":"1.0.0","name":"vxlan0","type":"flannel","subnetFile":"{{{work}}}/subnet.env","dataDir":"{{{work}}}/flannel","ipam":{"dataDir":"{{{work}}}/ipam"},"delegate":{"hairpinMode":true,"isDefaultGateway":true,"bridge":"cni1"}}""";

        List<double> refAdd = [], ourAdd = [], refDel = [], ourDel = [];
        string[] refResults = new string[n], ourResults = new string[n];
        for (int i = 0; i < n; i++)
        {
            string pod = $"/run/netns/{podPrefix}{i}";
            (refResults[i], double a) = Chain(refDir, "ADD", [("bridge", refBridge), ("portmap", Portmap("benchref", 8000 + i))], "ref" + i, pod + "r");
            (ourResults[i], double b) = Chain(ours, "ADD", [("flannel", ourFlannel), ("portmap", Portmap("vxlan0", 9000 + i))], "our" + i, pod + "o");
            refAdd.Add(a);
            ourAdd.Add(b);
        }
        for (int i = 0; i < n; i++)
        {
            string pod = $"/run/netns/{podPrefix}{i}";
            (_, double a) = Chain(refDir, "DEL", [("portmap", WithPrev(Portmap("benchref", 8000 + i), refResults[i])), ("bridge", WithPrev(refBridge, refResults[i]))], "ref" + i, pod + "r");
            (_, double b) = Chain(ours, "DEL", [("portmap", WithPrev(Portmap("vxlan0", 9000 + i), ourResults[i])), ("flannel", WithPrev(ourFlannel, ourResults[i]))], "our" + i, pod + "o");
            refDel.Add(a);
            ourDel.Add(b);
        }

        Console.WriteLine($"CNI chain latency per pod, N={n} (ms; only plugin processes timed; ours = flannel→bridge→host-local + portmap, reference = bridge+host-local + portmap)");
        Console.WriteLine($"{"",-26}{"median",10}{"p95",10}{"min",10}{"max",10}");
        Row("ADD reference", refAdd);
        Row("ADD twill", ourAdd);
        Row("DEL reference", refDel);
        Row("DEL twill", ourDel);
        double addRatio = Median(ourAdd) / Median(refAdd);
        double delRatio = Median(ourDel) / Median(refDel);
        double p95Ratio = P95(ourAdd) / P95(refAdd);
        Console.WriteLine($"ratios ours/reference: ADD median {F(addRatio)}, DEL median {F(delRatio)}, ADD p95 {F(p95Ratio)}  (targets ≤0.2, ≤0.2, ≤0.3)");
        Console.WriteLine($"BENCH cni add_ratio={F(addRatio)} del_ratio={F(delRatio)} add_p95_ratio={F(p95Ratio)} add_p50_ms={F1(Median(ourAdd))} ref_add_p50_ms={F1(Median(refAdd))}");
        return 0;
    }

    private static string Portmap(string net, int hostPort) =>
        $$$"""{"cniVersion":"1.0.0","name":"{{{net}}}","type":"portmap","capabilities":{"portMappings":true},"snat":true,"runtimeConfig":{"portMappings":[{"hostPort":{{{hostPort}}},"containerPort":80,"protocol":"tcp"}]}}""";

    private static string WithPrev(string conf, string prev)
    {
        JsonObject o = JsonNode.Parse(conf)!.AsObject();
        o["prevResult"] = JsonNode.Parse(prev);
        return o.ToJsonString();
    }

    /// <summary>Runs plugins in order (ADD chains prevResult); returns the last output and the summed plugin time.</summary>
    private static (string Result, double Ms) Chain(string dir, string command, (string Type, string Conf)[] plugins, string id, string netns)
    {
        string? prev = null;
        double total = 0;
        foreach ((string type, string conf0) in plugins)
        {
            string conf = command == "ADD" && prev is not null ? WithPrev(conf0, prev) : conf0;
            (string output, double ms) = Exec(Path.Combine(dir, type), command, conf, id, netns, dir);
            total += ms;
            prev = output;
        }
        return (prev ?? "", total);
    }

    private static (string Output, double Ms) Exec(string plugin, string command, string conf, string id, string netns, string cniPath)
    {
        ProcessStartInfo psi = new(plugin)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["CNI_COMMAND"] = command;
        psi.Environment["CNI_CONTAINERID"] = id;
        psi.Environment["CNI_NETNS"] = netns;
        psi.Environment["CNI_IFNAME"] = "eth0";
        psi.Environment["CNI_PATH"] = cniPath;
        Stopwatch sw = Stopwatch.StartNew();
        using Process p = Process.Start(psi)!;
        p.StandardInput.Write(conf);
        p.StandardInput.Close();
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        double ms = sw.Elapsed.TotalMilliseconds;
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {plugin} {id} failed ({p.ExitCode}): {output} {err.Result}");
        }
        return (output, ms);
    }

    private static void Row(string name, List<double> v) =>
        Console.WriteLine($"{name,-26}{F1(Median(v)),10}{F1(P95(v)),10}{F1(v.Min()),10}{F1(v.Max()),10}");

    private static double Median(List<double> v)
    {
        List<double> s = [.. v.Order()];
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>Nearest-rank p95, as the reference bench script computes it.</summary>
    private static double P95(List<double> v)
    {
        List<double> s = [.. v.Order()];
        int rank = Math.Clamp((int)Math.Ceiling(0.95 * s.Count), 1, s.Count);
        return s[rank - 1];
    }

    private static string F(double x) => x.ToString("0.000", CultureInfo.InvariantCulture);

    private static string F1(double x) => x.ToString("0.0", CultureInfo.InvariantCulture);
}
