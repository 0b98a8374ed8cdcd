using System.Security.Cryptography;
using Twill.Testing;

namespace Twill.Lab.Tests;

/// <summary>
/// The lab as a user runs it: the built out/bin/twill, `lab up`, `lab check`, `lab down`, and
/// afterwards no namespace with the lab's prefix and no process of it. One class, so these heavy
/// tests run one after another.
/// </summary>
public sealed class LabEndToEndTests
{
    private static readonly string Repo = FindRepo();
    // TWILL_LAB_TWILL / TWILL_LAB_CNI point the tests at another build (a helper's own artifacts).
    private static readonly string Twill = Environment.GetEnvironmentVariable("TWILL_LAB_TWILL") ?? Path.Combine(Repo, "out", "bin", "twill");
    private static readonly string? CniPath = Environment.GetEnvironmentVariable("TWILL_LAB_CNI");

    [RootFact]
    public void Up_VxlanL2_CheckPassesAndDownLeavesNothing() => UpCheckDown("--backend", "vxlan", "--underlay", "l2");

    [RootFact]
    public void Up_VxlanL3_CheckPassesAcrossTheRouter() => UpCheckDown("--backend", "vxlan", "--underlay", "l3");

    [RootFact]
    public void Up_HostGwL2_CheckPasses() => UpCheckDown("--backend", "host-gw", "--underlay", "l2");

    [RootFact]
    public void Up_HostGwOnL3_RefusedWithTheExplanationAndNothingMade()
    {
        string name = NewName();
        Tool.Result r = Run("lab", "up", "--name", name, "--backend", "host-gw", "--underlay", "l3");

        // Whitespace-normalised: the console may wrap long lines.
        string output = string.Join(' ', (r.Stdout + r.Stderr).Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("host-gw cannot run on an l3 underlay", output, StringComparison.Ordinal);
        Assert.Contains("one L2 segment", output, StringComparison.Ordinal);
        AssertNothingLeft(name);
    }

    [RootFact]
    public void Down_NoSuchLab_SaysSoAndSucceeds()
    {
        string name = NewName();
        Tool.Result r = Run("lab", "down", "--name", name);

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("nothing to remove", r.Stdout, StringComparison.Ordinal);
    }

    private static void UpCheckDown(params string[] options)
    {
        string name = NewName();
        try
        {
            string[] cni = CniPath is null ? [] : ["--cni-path", CniPath];
            Tool.Result up = Run(["lab", "up", "--name", name, "--nodes", "3", .. cni, .. options]);
            Assert.True(up.ExitCode == 0, $"lab up failed ({up.ExitCode}):\n{up.Stdout}\n{up.Stderr}");

            Tool.Result again = Run("lab", "up", "--name", name);
            Assert.Equal(2, again.ExitCode);
            Assert.Contains("already up", again.Stdout + again.Stderr, StringComparison.Ordinal);

            Tool.Result check = Run("lab", "check", "--name", name);
            Assert.True(check.ExitCode == 0, $"lab check failed ({check.ExitCode}):\n{check.Stdout}\n{check.Stderr}");
            Assert.Contains("30/30 pod pairs reachable, 6/6 hostPorts, 6/6 pods reach a foreign node", check.Stdout, StringComparison.Ordinal);

            Tool.Result status = Run("lab", "status", "--name", name);
            Assert.True(status.ExitCode == 0, $"lab status failed:\n{status.Stdout}\n{status.Stderr}");

            Tool.Result exec = Run("lab", "exec", "--name", name, "n1p1", "--", "cat", "/proc/net/route");
            Assert.Equal(0, exec.ExitCode);
        }
        finally
        {
            Tool.Result down = Run("lab", "down", "--name", name);
            Assert.True(down.ExitCode == 0, $"lab down failed:\n{down.Stdout}\n{down.Stderr}");
        }
        AssertNothingLeft(name);
        Tool.Result twice = Run("lab", "down", "--name", name);
        Assert.Equal(0, twice.ExitCode);
        Assert.Contains("nothing to remove", twice.Stdout, StringComparison.Ordinal);
    }

    private static void AssertNothingLeft(string name)
    {
        string prefix = $"twl-{name}-";
        Assert.DoesNotContain(Tool.Check("ip", "netns", "list").Split('\n'), l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.False(Directory.Exists($"/run/twill/lab/{name}"), "the state directory is left behind");
        // Every lab process names the lab's state dir (agents) or the lab (responder) on its command line.
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
            Assert.False(cmdline.Contains($"/run/twill/lab/{name}/", StringComparison.Ordinal) || cmdline.Contains($"--name {name} ", StringComparison.Ordinal)
                && cmdline.Contains("lab serve", StringComparison.Ordinal), $"process {dir} left: {cmdline}");
        }
    }

    private static Tool.Result Run(params string[] args)
    {
        Assert.True(File.Exists(Twill), $"{Twill} is not built: run `make build` first");
        return Tool.Run(Twill, args, stdin: null, timeout: TimeSpan.FromSeconds(120));
    }

    private static string NewName() => "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

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
