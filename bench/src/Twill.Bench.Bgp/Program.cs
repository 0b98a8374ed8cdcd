using System.Diagnostics;
using System.Globalization;
using System.Net;
using Twill.Bgp.Wire;
using Twill.Testing;

// Decodes a 10,000-prefix feed the way a ToR sends it: UPDATEs that group prefixes sharing their
// attributes (here 10 per UPDATE, each group with its own AS path, MED and communities, like a
// rack of nodes behind one ToR), plus the same prefixes packed as densely as they fit. The
// reference, measured in the same run, is framing alone (finding message boundaries in the same
// bytes): the floor any decoder pays. Then converge (Converge.cs): agents started in 1 and in 50
// node namespaces, time until a real FRR ToR's kernel holds their routes (root, FRR and out/bin/twill
// needed; without them the figures print as n/a and say why).

bool quick = args.Contains("--quick");
int rounds = quick ? 5 : 25;
const int Prefixes = 10_000;
CultureInfo ci = CultureInfo.InvariantCulture;
BgpCodecOptions options = new(FourOctetAs: true);

byte[] grouped = Feed(grouped: true);
byte[] packed = Feed(grouped: false);

Console.WriteLine(string.Format(ci, "feed: {0:N0} prefixes; grouped {1:N0} octets, packed {2:N0} octets; {3} rounds each", Prefixes, grouped.Length, packed.Length, rounds));
(double groupedRate, double groupedPrefixRate, int groupedCount) = Decode(grouped);
(double packedRate, double packedPrefixRate, int packedCount) = Decode(packed);
double frameRate = Frame(grouped);

Console.WriteLine();
Console.WriteLine(string.Format(ci, "{0,-34} {1,10} {2,14} {3,14}", "", "updates", "updates_per_s", "prefixes_per_s"));
Console.WriteLine(string.Format(ci, "{0,-34} {1,10} {2,14:N0} {3,14:N0}", "decode, 10 prefixes per UPDATE", groupedCount, groupedRate, groupedPrefixRate));
Console.WriteLine(string.Format(ci, "{0,-34} {1,10} {2,14:N0} {3,14:N0}", "decode, packed UPDATEs", packedCount, packedRate, packedPrefixRate));
Console.WriteLine(string.Format(ci, "{0,-34} {1,10} {2,14:N0} {3,14}", "reference: framing only", groupedCount, frameRate, "-"));
Console.WriteLine(string.Format(ci, "{0,-34} {1,10} {2,14:F3}", "ratio decode/framing", "", groupedRate / frameRate));
Console.WriteLine(string.Format(ci, "summary: updates_per_s={0:F0} prefixes_per_s={1:F0} packed_prefixes_per_s={2:F0} frame_ratio={3:F3}",
    groupedRate, groupedPrefixRate, packedPrefixRate, groupedRate / frameRate));

string converge1 = "n/a", converge50 = "n/a";
string bin = Environment.GetEnvironmentVariable("TWILL_BIN") ?? Path.GetFullPath("out/bin/twill");
string? missing = !Privileges.IsRoot ? "needs root (namespaces)"
    : !FrrRouter.Installed ? "needs FRR (Debian frr)"
    : !File.Exists(bin) ? $"{bin} missing (make build, or set TWILL_BIN)"
    : null;
if (missing is not null)
{
    Console.Error.WriteLine($"bench/bgp: converge skipped: {missing}");
}
else
{
    try
    {
        Console.WriteLine();
        Console.WriteLine(string.Format(ci, "{0,6} {1,18} {2,18} {3,22}", "nodes", "first route ms", "all routes ms", "all subnet.env ms"));
        foreach (int n in new[] { 1, 50 })
        {
            Converge.Result r = Converge.Run(bin, n, TimeSpan.FromSeconds(n == 1 ? 60 : 300));
            Console.WriteLine(string.Format(ci, "{0,6} {1,18:F0} {2,18:F0} {3,22:F0}", r.Nodes, r.FirstRouteMs, r.RouteMs, r.SubnetEnvMs));
            if (n == 1)
            {
                converge1 = r.RouteMs.ToString("F0", ci);
            }
            else
            {
                converge50 = r.RouteMs.ToString("F0", ci);
            }
        }
        Console.WriteLine("(all routes ms: agents started -> every node's subnet proto bgp in the ToR's kernel; all subnet.env ms: the agents' own start-up, the reference)");
    }
    catch (Exception e) when (e is InvalidOperationException or IOException)
    {
        Console.Error.WriteLine($"bench/bgp: converge failed: {e.Message}");
    }
}
Console.WriteLine(string.Format(ci, "BENCH bgp converge1_ms={0} converge50_ms={1} updates_per_s={2:F0}", converge1, converge50, groupedRate));
return 0;

(double UpdatesPerSecond, double PrefixesPerSecond, int Updates) Decode(byte[] feed)
{
    List<double> rates = [];
    int updates = 0, prefixes = 0;
    for (int round = 0; round < rounds + 2; round++)
    {
        updates = 0;
        prefixes = 0;
        Stopwatch sw = Stopwatch.StartNew();
        int at = 0;
        while (at < feed.Length)
        {
            int length = BgpCodec.FrameLength(feed.AsSpan(at));
            UpdateMessage u = (UpdateMessage)BgpCodec.Decode(feed.AsSpan(at, length), options);
            prefixes += u.Nlri.Count;
            updates++;
            at += length;
        }
        sw.Stop();
        if (prefixes != Prefixes)
        {
            throw new InvalidOperationException($"decoded {prefixes} prefixes, expected {Prefixes}");
        }
        if (round >= 2)
        {
            rates.Add(updates / sw.Elapsed.TotalSeconds); // the first two rounds warm the JIT
        }
    }
    double median = Median(rates);
    return (median, median * Prefixes / updates, updates);
}

double Frame(byte[] feed)
{
    List<double> rates = [];
    for (int round = 0; round < rounds + 2; round++)
    {
        int updates = 0;
        Stopwatch sw = Stopwatch.StartNew();
        for (int at = 0; at < feed.Length; updates++)
        {
            at += BgpCodec.FrameLength(feed.AsSpan(at));
        }
        sw.Stop();
        if (round >= 2)
        {
            rates.Add(updates / sw.Elapsed.TotalSeconds);
        }
    }
    return Median(rates);
}

static byte[] Feed(bool grouped)
{
    BgpWriter writer = new(1 << 20);
    BgpCodecOptions o = new(FourOctetAs: true);
    IPNetwork[] all = [.. Enumerable.Range(0, Prefixes).Select(i => new IPNetwork(new IPAddress([10, (byte)(i >> 8), (byte)i, 0]), 24))];
    if (!grouped)
    {
        foreach (UpdateMessage u in UpdatePacker.Announce(BgpFamily.IPv4Unicast, all, AsPathAttribute.Sequence(65000, 64512), IPAddress.Parse("198.51.100.1"), null, [(65000u << 16) | 1], o))
        {
            BgpCodec.Encode(u, o, writer);
        }
        return writer.ToArray();
    }
    for (int g = 0; g < Prefixes / 10; g++)
    {
        UpdateMessage u = new()
        {
            Attributes =
            [
                OriginAttribute.Igp,
                AsPathAttribute.Sequence(65000, (uint)(64512 + (g % 500)), 4200000000u + (uint)g),
                new NextHopAttribute(new IPAddress([198, 51, 100, (byte)(1 + (g % 250))])),
                new MultiExitDiscAttribute((uint)g),
                new CommunitiesAttribute([(65000u << 16) | (uint)(g % 65536), (64512u << 16) | 100]),
            ],
            Nlri = all[(g * 10)..((g * 10) + 10)],
        };
        BgpCodec.Encode(u, o, writer);
    }
    return writer.ToArray();
}

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}
