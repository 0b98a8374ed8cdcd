using Twill.Testing;

namespace Twill.Cli.Tests;

/// <summary>The published binary's help and usage errors, as a user meets them (<c>make build</c> first).</summary>
[Trait("Category", "Binary")]
public class CommandLineBinaryTests
{
    private static Tool.Result Twill(params string[] args) => Tool.Run(TwillBinary.Path, args);

    [Fact]
    public void Help_OneLinePerCommand_NoAgentFlags()
    {
        Tool.Result r = Twill("--help");

        Assert.Equal(0, r.ExitCode);
        string[] lines = r.Stdout.Split('\n');
        int start = Array.FindIndex(lines, l => l.StartsWith("Commands:", StringComparison.Ordinal));
        string[] commands = [.. lines.Skip(start + 1).Where(l => l.Trim().Length > 0)];
        Assert.Equal(["agent", "leases", "lab", "tor", "doctor", "manifest"], commands.Select(l => l.Trim().Split(' ')[0]));
        Assert.DoesNotContain("--iface", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void AgentHelp_ListsTheAgentFlags()
    {
        Tool.Result r = Twill("agent", "--help");

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--iface V", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("--etcd-endpoints V", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("TWILL_<FLAG>", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void LeasesListHelp_NoAgentFlagTable()
    {
        Tool.Result r = Twill("leases", "list", "--help");

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--etcd-endpoints", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("--iface", r.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("leases list")]
    public void StoreContradiction_UsageErrorNamingBothSources(string command)
    {
        Tool.Result r = Tool.Run(TwillBinary.Path, [.. command.Split(' '), "--etcd-endpoints", "http://192.0.2.1:2379", "--store", "file"]);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--store file (command line) contradicts --etcd-endpoints (command line)", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void LabUp_KeepIsGone()
    {
        Tool.Result r = Twill("lab", "up", "--help");

        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain("--keep", r.Stdout, StringComparison.Ordinal);
    }
}
