using System.Net;
using System.Net.Sockets;
using System.Text;
using Twill.Agent.Store;
using Twill.Backends;
using Twill.Core;
using Twill.Leases.Etcd;
using Twill.Leases.Store;

namespace Twill.Agent.Tests;

public class AgentPiecesTests
{
    [Fact]
    public void ToSettings_VxlanConfig_CarriesEveryField()
    {
        BackendSettings s = AgentConfig.ToSettings(new VxlanBackendConfig { Vni = 4096, Port = 4789, Mtu = 1400, Gbp = true, DirectRouting = true });

        Assert.Equal(new BackendSettings { Kind = BackendKind.Vxlan, Vni = 4096, Port = 4789, Mtu = 1400, Gbp = true, DirectRouting = true }, s);
    }

    [Fact]
    public void ToSettings_LearningTrue_Carried()
    {
        BackendSettings on = AgentConfig.ToSettings(new VxlanBackendConfig { Learning = true });
        BackendSettings off = AgentConfig.ToSettings(new VxlanBackendConfig());

        Assert.True(on.Learning);
        Assert.False(off.Learning);
    }

    [Fact]
    public async Task CreateStore_Etcd_WatchProblemLoggedAsWarning()
    {
        StringWriter output = new();
        LeaseStoreOptions options = new() { Kind = StoreKind.Etcd, Etcd = new EtcdLeaseStoreOptions { Endpoints = ["http://192.0.2.1:2379"] } };

        await using ILeaseStore store = NodeAgent.CreateStore(options, new AgentLogger(LogLevelName.Info, output));
        EtcdLeaseStore etcd = Assert.IsType<EtcdLeaseStore>(store);
        Assert.NotNull(etcd.WatchProblem);
        etcd.WatchProblem("etcd http://192.0.2.1:2379: watch of /coreos.com/network/subnets/: unavailable; resuming from revision 7");

        string line = output.ToString();
        Assert.Contains(" warning ", line, StringComparison.Ordinal);
        Assert.Contains("resuming from revision 7", line, StringComparison.Ordinal);
    }

    [Fact]
    public void VtepMacState_CreatedOnceThenStable()
    {
        string dir = Directory.CreateTempSubdirectory("twill-vtep-").FullName;
        try
        {
            var first = VtepMacState.LoadOrCreate(dir, "flannel.1", null);
            var second = VtepMacState.LoadOrCreate(dir, "flannel.1", null);

            Assert.Equal(first, second);
            byte b0 = first.GetAddressBytes()[0];
            Assert.Equal(0x02, b0 & 0x03);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void VtepMacState_NewStateDir_Is0700AndTheFile0600()
    {
        string root = Directory.CreateTempSubdirectory("twill-vtep-").FullName;
        try
        {
            string dir = Path.Combine(root, "var", "lib", "twill");
            VtepMacState.LoadOrCreate(dir, "flannel.1", null);

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
            string file = Assert.Single(Directory.GetFiles(dir));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public void VtepMacState_ExistingDevice_MacAdopted()
    {
        string dir = Directory.CreateTempSubdirectory("twill-vtep-").FullName;
        try
        {
            var mac = System.Net.NetworkInformation.PhysicalAddress.Parse("12:c6:65:89:b4:e3");
            Assert.Equal(mac, VtepMacState.LoadOrCreate(dir, "flannel.1", mac));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void PeerLeases_EmptyMacThenMac_WindowsRemembered()
    {
        PeerLeases peers = new();
        Leases.Lease first = Lease("""{"PublicIP":"192.0.2.21","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":""}}""");
        Leases.Lease update = Lease("""{"PublicIP":"192.0.2.21","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"0a:00:00:00:00:21"}}""");

        PeerLease a = peers.Convert(first)!;
        PeerLease b = peers.Convert(update)!;

        Assert.True(a.HasNoVtepMac);
        Assert.Equal(PeerOs.Windows, b.Os);
        Assert.Equal(4096, b.Vni);
    }

    private static Leases.Lease Lease(string value) =>
        Leases.Lease.TryFromRecord(new Leases.Store.LeaseRecord("10.244.2.0-24", value, DateTimeOffset.UtcNow.AddHours(1), 1), out Leases.Lease? l, out string? e)
            ? l : throw new InvalidOperationException(e);

    [Fact]
    public async Task HealthServer_Endpoints_AnswerHttp()
    {
        AgentMetrics metrics = new();
        metrics.RecordReconcile(3, 10, 0, TimeSpan.FromMilliseconds(2), 0, 1);
        await using HealthServer server = new(IPAddress.Loopback, 0, () => true, metrics);

        string healthz = await Get(server.Endpoint, "/healthz");
        string readyBefore = await Get(server.Endpoint, "/readyz");
        metrics.Readiness.SetDataPath(null);
        string readyAfter = await Get(server.Endpoint, "/readyz");
        string prom = await Get(server.Endpoint, "/metrics");

        Assert.StartsWith("HTTP/1.1 200", healthz, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 503", readyBefore, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", readyAfter, StringComparison.Ordinal);
        Assert.Contains("\ntwill_peers 3\n", prom, StringComparison.Ordinal);
        Assert.Contains("\ntwill_drift_repairs_total 1\n", prom, StringComparison.Ordinal);
        Assert.Contains("# TYPE twill_reconcile_duration_seconds summary", prom, StringComparison.Ordinal);
    }

    private static async Task<string> Get(IPEndPoint endpoint, string path)
    {
        using TcpClient client = new();
        await client.ConnectAsync(endpoint);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
        using StreamReader reader = new(stream);
        return await reader.ReadToEndAsync();
    }
}
