using System.Net;
using System.Net.Sockets;
using System.Text;
using Twill.Agent.Store;
using Twill.Cli.Doctor;
using Twill.Leases.Kube;
using Twill.Os;

namespace Twill.Cli.Tests;

/// <summary>
/// What <c>--fix</c> does, without root and without global effects: modprobe through a recording
/// process runner (never run), files in a temporary directory. Sysctls are fixed only in the
/// namespace tests (<see cref="DoctorNamespaceTests"/>): here they would be the machine's.
/// Also the kernel tables' parsers and the store reading's HTTP 401.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DoctorFixerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-doctor-fix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class RecordingRunner(int exitCode = 0, string stderr = "") : IProcessRunner
    {
        public List<string> Commands { get; } = [];

        public ProcessResult Run(ProcessSpec spec)
        {
            Commands.Add(string.Join(' ', [spec.File, .. spec.Arguments]));
            return new ProcessResult(exitCode, [], Encoding.UTF8.GetBytes(stderr));
        }
    }

    [Fact]
    public void Apply_VxlanModuleMissing_RunsExactlyModprobeVxlan()
    {
        RecordingRunner runner = new();
        IReadOnlyList<Finding> findings = DoctorChecks.Run(DoctorChecksTests.Healthy() with { Modules = new HashSet<string> { "br_netfilter" } });

        IReadOnlyList<FixOutcome> outcomes = new DoctorFixer(runner).Apply(findings);

        Assert.Equal(["modprobe vxlan"], runner.Commands);
        Assert.Equal(new FixOutcome("vxlan module", "modprobe vxlan", null), Assert.Single(outcomes));
    }

    [Fact]
    public void Apply_ModprobeFails_OutcomeSaysWhy()
    {
        RecordingRunner runner = new(1, "modprobe: FATAL: Module br_netfilter not found");
        Finding f = Finding.Fixable("br_netfilter", Verdict.Fail, "not loaded", new LoadModule("br_netfilter"));

        FixOutcome outcome = Assert.Single(new DoctorFixer(runner).Apply([f]));

        Assert.Equal(["modprobe br_netfilter"], runner.Commands);
        Assert.Equal("modprobe exited 1: modprobe: FATAL: Module br_netfilter not found", outcome.Error);
    }

    [Fact]
    public void Apply_OkFindingsAndManualOnes_TouchNothing()
    {
        RecordingRunner runner = new();
        Finding ok = Finding.Fixable("x", Verdict.Ok, "fine", new LoadModule("x"));
        Finding manual = Finding.Manual("routes", Verdict.Fail, "foreign route", "ip route del ...");

        Assert.Empty(new DoctorFixer(runner).Apply([ok, manual]));
        Assert.Empty(runner.Commands);
    }

    [Fact]
    public void Apply_WriteOwnedFile_WritesWholeFileAndLeavesNoTemporary()
    {
        string path = Path.Combine(_dir, "run", "subnet.env");
        Finding f = Finding.Fixable("subnet.env", Verdict.Fail, "missing", new WriteOwnedFile(path, "FLANNEL_MTU=1450\n", "test"));

        Assert.Null(Assert.Single(new DoctorFixer(new RecordingRunner()).Apply([f])).Error);

        Assert.Equal("FLANNEL_MTU=1450\n", File.ReadAllText(path));
        Assert.Equal(["subnet.env"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void Apply_InstallPlugins_CopiesTheMissingOnesExecutable()
    {
        string from = Directory.CreateDirectory(Path.Combine(_dir, "cni")).FullName;
        string to = Path.Combine(_dir, "bin");
        File.WriteAllText(Path.Combine(from, "flannel"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(from, "flannel"), (UnixFileMode)0b111_101_101);
        Finding f = Finding.Fixable("cni plugins", Verdict.Fail, "missing", new InstallPlugins(from, to, ["flannel"]));

        Assert.Null(Assert.Single(new DoctorFixer(new RecordingRunner()).Apply([f])).Error);

        Assert.Equal("#!/bin/sh\n", File.ReadAllText(Path.Combine(to, "flannel")));
        Assert.True((File.GetUnixFileMode(Path.Combine(to, "flannel")) & UnixFileMode.UserExecute) != 0);
        Assert.Equal(["flannel"], Directory.GetFiles(to).Select(Path.GetFileName));
    }

    [Fact]
    public void ParseUdp_PortAndAddressesOfBothFamilies()
    {
        const string v4 = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
              936: 00000000:12B5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1859774 2 00000000684a6f5e 0
              937: 0100007F:2118 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1859775 2 00000000684a6f5f 0
              938: 0A0200C0:12B5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1859776 2 00000000684a6f60 0
            """;
        const string v6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
              12: B80D0120000000000000000010000000:12B5 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 42 2 0000000000000000 0
            """;

        Assert.Equal([(IPAddress.Any, 4789, 1859774L), (IPAddress.Parse("192.0.2.10"), 4789, 1859776L)], KernelTables.ParseUdp(v4, 4789));
        Assert.Equal([(IPAddress.Loopback, 8472, 1859775L)], KernelTables.ParseUdp(v4, 8472));
        Assert.Equal([(IPAddress.Parse("2001:db8::10"), 4789, 42L)], KernelTables.ParseUdp(v6, 4789));
    }

    [Fact]
    public void ParseModules_AndBuiltin_GiveModuleNames()
    {
        Assert.Equal(["br_netfilter", "bridge"], KernelTables.ParseModules("br_netfilter 32768 0 - Live 0x0000000000000000\nbridge 311296 1 br_netfilter, Live 0x0\n"));
        Assert.Equal(["br_netfilter", "ip6_udp_tunnel"], KernelTables.ParseBuiltin("kernel/net/bridge/br_netfilter.ko\nkernel/net/ipv6/ip6_udp_tunnel.ko\n"));
    }

    [Fact]
    public async Task StoreReading_ApiServerAnswers401_ObservedAsUnauthorized()
    {
        using TcpListener listener = new(IPAddress.Loopback, 0);
        listener.Start();
        using CancellationTokenSource stop = new(TimeSpan.FromSeconds(60));
        Task server = Answer401Async(listener, stop.Token);
        LeaseStoreOptions options = new()
        {
            Kind = StoreKind.Kube,
            Kube = new KubeStoreOptions { ApiUrl = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}", NodeName = "n1" },
        };

        StoreReading reading = await StoreReading.OpenAsync(options, TimeSpan.FromSeconds(30), CancellationToken.None);
        StoreObservation seen;
        await using (reading.ConfigureAwait(false))
        {
            seen = reading.Observation(null);
        }
        await stop.CancelAsync();

        Assert.Equal(401, seen.HttpStatus);
        Assert.Contains("401", seen.Error, StringComparison.Ordinal);
        Finding f = Assert.Single(DoctorChecks.Run(DoctorChecksTests.Healthy() with { Store = seen }), x => x.Check == "store");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Contains(": 401 Unauthorized: ", f.Message, StringComparison.Ordinal);
    }

    private static async Task Answer401Async(TcpListener listener, CancellationToken ct)
    {
        const string body = """{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}""";
        byte[] response = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
        try
        {
            while (!ct.IsCancellationRequested)
            {
                using TcpClient client = await listener.AcceptTcpClientAsync(ct);
                NetworkStream stream = client.GetStream();
                byte[] buffer = new byte[8192];
                // Read the request head, then answer and close.
                StringBuilder head = new();
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    int n = await stream.ReadAsync(buffer, ct);
                    if (n == 0)
                    {
                        break;
                    }
                    head.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
                await stream.WriteAsync(response, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
