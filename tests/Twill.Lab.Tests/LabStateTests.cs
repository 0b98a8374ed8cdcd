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
