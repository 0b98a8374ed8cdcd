namespace Twill.Lab.Tests;

public class LabStateTests
{
    [Fact]
    public void SaveLoad_RoundTrip_KeepsProcessesAndNamespaces()
    {
        string dir = Path.Combine(Path.GetTempPath(), "twill-lab-state-" + Guid.NewGuid().ToString("N"));
        try
        {
            LabState s = new() { Name = "x", Backend = "vxlan", Namespaces = ["twl-x-sw"] };
            s.Processes.Add(new LabProcess { Role = "agent node1", Pid = 42, StartTicks = 7, Namespace = "twl-x-node1" });
            string file = Path.Combine(dir, "state.json");

            s.Save(file);
            LabState back = LabState.Load(file)!;

            Assert.Equal("x", back.Name);
            Assert.Equal(["twl-x-sw"], back.Namespaces);
            Assert.Equal(42, back.Processes[0].Pid);
            Assert.Equal(7UL, back.Processes[0].StartTicks);
            Assert.Contains("\"startTicks\"", File.ReadAllText(file), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Save_NewDirectory_Is0700AndTheFile0600()
    {
        string dir = Path.Combine(Path.GetTempPath(), "twill-lab-state-" + Guid.NewGuid().ToString("N"));
        try
        {
            string file = Path.Combine(dir, "state.json");
            new LabState { Name = "x" }.Save(file);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(["state.json"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void StartBackground_ShellMetacharactersInArguments_PassedVerbatimNeverRun()
    {
        string dir = Path.Combine(Path.GetTempPath(), "twill-lab-argv-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string marker = Path.Combine(dir, "pwned");
            string log = Path.Combine(dir, "out.log");
            string[] hostile = [$"$(touch {marker})", $"`touch {marker}`", $"'; touch {marker}; '", $"\"; touch {marker}; \""];
            LabProcess p = LabProcesses.StartBackground("echo", null, ["/bin/echo", .. hostile], log);
            Assert.True(SpinWait.SpinUntil(() => !LabProcesses.IsAlive(p) && File.Exists(log) && File.ReadAllText(log).EndsWith('\n'), 10_000), "echo did not finish");
            Assert.Equal(string.Join(' ', hostile) + "\n", File.ReadAllText(log));
            Assert.False(File.Exists(marker), "an argument was run by the shell");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Load_Missing_Null()
    {
        Assert.Null(LabState.Load("/nonexistent/state.json"));
    }

    [Fact]
    public void StartTicks_OwnProcess_NonZeroAndStable()
    {
        ulong? a = LabProcesses.StartTicks(Environment.ProcessId);

        Assert.NotNull(a);
        Assert.Equal(a, LabProcesses.StartTicks(Environment.ProcessId));
        Assert.True(LabProcesses.IsAlive(new LabProcess { Pid = Environment.ProcessId, StartTicks = a.Value }));
        Assert.False(LabProcesses.IsAlive(new LabProcess { Pid = Environment.ProcessId, StartTicks = a.Value + 1 }));
    }

    [Fact]
    public void Paths_EverythingUnderTheStateDir()
    {
        LabPaths p = new("lab", "/run/twill/lab");

        Assert.Equal("/run/twill/lab/lab/node2/subnet.env", p.SubnetEnv("node2"));
        Assert.StartsWith(p.Root + "/", p.IpamDataDir("node1"), StringComparison.Ordinal);
        Assert.StartsWith(p.Root + "/", p.FlannelDataDir("node1"), StringComparison.Ordinal);
        Assert.StartsWith(p.Root + "/", p.StoreDir, StringComparison.Ordinal);
    }
}
