using System.Text;
using Twill.Os;

namespace Twill.Os.Tests.Processes;

/// <summary>Both <see cref="IProcessRunner"/> implementations, held to one contract.</summary>
public class ProcessRunnerTests
{
    public static TheoryData<string> Runners => ["managed", "spawn"];

    private static IProcessRunner Runner(string name) =>
        name == "spawn" ? SpawnProcessRunner.Instance : ManagedProcessRunner.Instance;

    private static ProcessSpec Sh(string script) => new("sh", ["-c", script]);

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_ReadsStdinWritesBothStreamsAndFails_AllCaptured(string runner)
    {
        ProcessResult r = Runner(runner).Run(Sh("cat; echo oops >&2; exit 3") with { Stdin = Encoding.UTF8.GetBytes("*nat\nCOMMIT\n") });
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("*nat\nCOMMIT\n", r.StdoutText);
        Assert.Equal("oops\n", r.StderrText);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_NoStdin_ChildSeesEmptyInput(string runner)
    {
        ProcessResult r = Runner(runner).Run(Sh("wc -c"));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("0\n", r.StdoutText);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_LargeOutput_NothingLost(string runner)
    {
        // More than a pipe holds: the child must never block on its output.
        ProcessResult r = Runner(runner).Run(Sh("head -c 300000 /dev/zero | tr '\\0' x"));
        Assert.Equal(300000, r.Stdout.Length);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_Overrides_SetOnTopOfOurEnvironment(string runner)
    {
        ProcessResult r = Runner(runner).Run(Sh("echo \"$LC_ALL $PATH\"") with
        {
            Overrides = new Dictionary<string, string> { ["LC_ALL"] = "C" },
        });
        Assert.Equal($"C {Environment.GetEnvironmentVariable("PATH")}\n", r.StdoutText);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_Environment_ReplacesOursWhole(string runner)
    {
        ProcessResult r = Runner(runner).Run(new ProcessSpec("/bin/sh", ["-c", "echo \"${HOME:-unset} $ONLY\""])
        {
            Environment = new Dictionary<string, string> { ["ONLY"] = "this" },
        });
        Assert.Equal("unset this\n", r.StdoutText);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_KilledBySignal_ExitCodeIs128PlusSignal(string runner)
    {
        ProcessResult r = Runner(runner).Run(Sh("kill -TERM $$"));
        Assert.Equal(128 + 15, r.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_StderrNotCaptured_NothingCapturedAndStdoutKept(string runner)
    {
        ProcessResult r = Runner(runner).Run(Sh("echo out; echo err >&2") with { CaptureStderr = false });
        Assert.Equal("out\n", r.StdoutText);
        Assert.Empty(r.Stderr);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_MissingProgram_ProcessStartExceptionNamingIt(string runner)
    {
        ProcessStartException e = Assert.Throws<ProcessStartException>(() => Runner(runner).Run(new ProcessSpec("no-such-tool-twill", [])));
        Assert.Equal("no-such-tool-twill", e.File);
        Assert.Contains("no-such-tool-twill", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Runners))]
    public void Run_OutlivesTimeout_KilledAndTimeoutException(string runner)
    {
        string marker = Path.Combine(Path.GetTempPath(), "twill-os-timeout-" + Guid.NewGuid().ToString("N"));
        Assert.Throws<TimeoutException>(() => Runner(runner).Run(Sh($"sleep 30; touch {marker}") with { Timeout = TimeSpan.FromMilliseconds(200) }));
        Assert.False(File.Exists(marker));
    }
}
