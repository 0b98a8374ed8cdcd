using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Twill.Testing;

namespace Twill.Lab.Tests;

/// <summary>
/// Drives the built `twill lab` for the scenario and drill tests: up, check, exec, down, and the
/// proof that down left nothing. Binaries come from TWILL_LAB_TWILL / TWILL_LAB_CNI (a helper's own
/// build) or the repo's out/.
/// </summary>
internal static class LabHarness
{
    public static readonly string Twill = Environment.GetEnvironmentVariable("TWILL_LAB_TWILL") ?? Path.Combine(FindRepo(), "out", "bin", "twill");
    private static readonly string? CniPath = Environment.GetEnvironmentVariable("TWILL_LAB_CNI");

    public static string NewName() => "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    public static Tool.Result Run(params string[] args)
    {
        Assert.True(File.Exists(Twill), $"{Twill} is not built: run `make build` first");
        return Tool.Run(Twill, args, stdin: null, timeout: TimeSpan.FromSeconds(150));
    }

    public static void Up(string name, params string[] options)
    {
        string[] cni = CniPath is null ? [] : ["--cni-path", CniPath];
        Tool.Result up = Run(["lab", "up", "--name", name, .. cni, .. options]);
        Assert.True(up.ExitCode == 0, $"lab up failed ({up.ExitCode}):\n{up.Stdout}\n{up.Stderr}");
    }

    public static string Check(string name, string expectedSummary)
    {
        Tool.Result check = Run("lab", "check", "--name", name);
        Assert.True(check.ExitCode == 0, $"lab check failed ({check.ExitCode}):\n{check.Stdout}\n{check.Stderr}");
        Assert.Contains(expectedSummary, check.Stdout, StringComparison.Ordinal);
        return check.Stdout;
    }

    public static Tool.Result Exec(string name, string target, params string[] command) =>
        Run(["lab", "exec", "--name", name, target, "--", .. command]);

    /// <summary>The node's IPv4 routes as `ip -j route` reports them.</summary>
    public static List<JsonElement> Routes(string name, string node)
    {
        Tool.Result r = Exec(name, node, "ip", "-j", "-4", "route", "show");
        Assert.True(r.ExitCode == 0, $"ip route in {node} failed: {r.Stderr}");
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        return [.. doc.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    public static JsonElement? RouteTo(string name, string node, string subnet) =>
        Routes(name, node).Cast<JsonElement?>().FirstOrDefault(e => e!.Value.GetProperty("dst").GetString() == subnet);

    public static string Text(JsonElement e, string property) =>
        e.TryGetProperty(property, out JsonElement v) ? v.GetString() ?? "" : "";

    public static LabState State(string name) =>
        LabState.Load(new LabPaths(name).StateFile) ?? throw new InvalidOperationException($"no state for lab {name}");

    public static LabNodeState Node(LabState state, string node) => state.Nodes.Single(n => n.Name == node);

    /// <summary>The node's pod subnet as a route destination: state.json records subnet.env's
    /// FLANNEL_SUBNET (the gateway address, 10.244.5.1/24); routes name the network (10.244.5.0/24).</summary>
    public static string PodNetwork(LabNodeState node) => Mask(node.Subnet!);

    private static string Mask(string cidr)
    {
        string[] parts = cidr.Split('/');
        int prefix = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        byte[] bytes = System.Net.IPAddress.Parse(parts[0]).GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return $"{new System.Net.IPAddress(bytes)}/{prefix}";
    }

    /// <summary>Polls until the condition holds or the time is up; returns whether it held.</summary>
    public static bool Eventually(TimeSpan within, Func<bool> condition)
    {
        Stopwatch sw = Stopwatch.StartNew();
        while (true)
        {
            if (condition())
            {
                return true;
            }
            if (sw.Elapsed > within)
            {
                return false;
            }
            Thread.Sleep(500);
        }
    }

    public static void Down(string name)
    {
        Tool.Result down = Run("lab", "down", "--name", name);
        Assert.True(down.ExitCode == 0, $"lab down failed:\n{down.Stdout}\n{down.Stderr}");
    }

    public static void AssertNothingLeft(string name)
    {
        string prefix = $"twl-{name}-";
        Assert.DoesNotContain(Tool.Check("ip", "netns", "list").Split('\n'), l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.False(Directory.Exists($"/run/twill/lab/{name}"), "the state directory is left behind");
        foreach (string dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            Assert.False(cmdline.Contains($"/run/twill/lab/{name}/", StringComparison.Ordinal)
                || (cmdline.Contains($"--name {name} ", StringComparison.Ordinal) && cmdline.Contains("lab serve", StringComparison.Ordinal)),
                $"process {dir} left: {cmdline}");
        }
    }

    private static string FindRepo()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Twill.slnx")))
            {
                return d.FullName;
            }
        }
        return "/work/main";
    }
}
