using Twill.Os;

namespace Twill.Firewall.Tests;

/// <summary>The runner the agent (Process) and the CNI plugins (posix_spawn) use for iptables-restore and friends.</summary>
public class ProcessFirewallRunnerTests
{
    public static TheoryData<string> Runners => ["managed", "spawn"];

    private static ProcessFirewallRunner Runner(string name) =>
        new(Path.Combine(Path.GetTempPath(), "twill-firewall-runner-test.lock"),
            name == "spawn" ? SpawnProcessRunner.Instance : ManagedProcessRunner.Instance);

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_ToolReadsStdinWritesBothStreamsAndFails_AllCaptured(string runner)
    {
        ToolOutput o = Runner(runner).Run("sh", ["-c", "cat; echo oops >&2; exit 3"], "*nat\nCOMMIT\n");
        Assert.Equal(3, o.ExitCode);
        Assert.Equal("*nat\nCOMMIT\n", o.Stdout);
        Assert.Equal("oops\n", o.Stderr);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_NoStdin_ToolSeesEmptyInputAndCLocale(string runner)
    {
        ToolOutput o = Runner(runner).Run("sh", ["-c", "wc -c; echo \"$LC_ALL\""]);
        Assert.Equal(0, o.ExitCode);
        Assert.Equal("0\nC\n", o.Stdout);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_MissingTool_FirewallExceptionNamingIt(string runner)
    {
        FirewallException e = Assert.Throws<FirewallException>(() => Runner(runner).Run("no-such-tool-twill", []));
        Assert.StartsWith("could not start no-such-tool-twill: ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("(is it installed?)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lock_MissingDirectory_CreatedAndLockHeld()
    {
        string dir = Path.Combine(Path.GetTempPath(), "twill-fw-lock-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (new ProcessFirewallRunner(Path.Combine(dir, "sub", "firewall.lock")).Lock())
            {
                Assert.True(File.Exists(Path.Combine(dir, "sub", "firewall.lock")));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
