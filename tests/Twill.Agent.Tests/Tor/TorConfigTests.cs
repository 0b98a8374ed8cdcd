using Microsoft.Extensions.Logging.Abstractions;
using Twill.Bgp.Config;
using Twill.Core;

namespace Twill.Agent.Tests.Tor;

/// <summary>The agent's reading of the bgp section and its restart marker (pure, or a temp directory).</summary>
public sealed class TorConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-tor-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static NetworkConfig Conf(string backend) =>
        NetworkConfig.Parse($$"""{"Network":"10.244.0.0/16","Backend":{{backend}}}""", out _);

    [Fact]
    public void ReadBgp_BadAsnPeerAddressAndMissingPasswordFile_EveryErrorNamesItsField()
    {
        NetworkConfigException e = Assert.Throws<NetworkConfigException>(() => AgentConfig.ReadBgp(Conf("""
            {"Type":"bgp","ASN":0,"Peers":[{"Address":"198.51.100.1/24","ASN":65000},{"Address":"198.51.100.2","ASN":"x"}]}
            """), "/etc/kube-flannel/net-conf.json", NullLogger.Instance));

        Assert.Equal(["Backend.ASN", "Backend.Peers[0].Address", "Backend.Peers[1].ASN"], e.Errors.Select(x => x.Field));
        Assert.All(e.Errors, x => Assert.Equal("/etc/kube-flannel/net-conf.json", x.Source));
        Assert.Contains("\"198.51.100.1/24\"", e.Errors[1].Message, StringComparison.Ordinal);

        string missing = Path.Combine(_dir, "no-such-key");
        NetworkConfigException file = Assert.Throws<NetworkConfigException>(() => AgentConfig.ReadBgp(Conf($$"""
            {"Type":"bgp","ASN":64512,"Peers":[{"Address":"198.51.100.1","ASN":65000,"PasswordFile":"{{missing}}"}]}
            """), "net-conf.json", NullLogger.Instance));
        ConfigError only = Assert.Single(file.Errors);
        Assert.Equal("Backend.Peers[0].PasswordFile", only.Field);
        Assert.Contains(missing, only.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadBgp_OtherBackendNull_StaticNeedsNoPeers_DefaultsAsDocumented()
    {
        Assert.Null(AgentConfig.ReadBgp(Conf("""{"Type":"host-gw"}"""), "net-conf.json", NullLogger.Instance));
        Assert.Equal(TorMode.Static, AgentConfig.ReadBgp(Conf("""{"Type":"bgp","Mode":"static"}"""), "net-conf.json", NullLogger.Instance)!.Mode);

        BgpBackendConfig bgp = AgentConfig.ReadBgp(Conf("""{"Type":"bgp","ASN":64512,"Peers":[{"Address":"198.51.100.1","ASN":65000}]}"""), "net-conf.json", NullLogger.Instance)!;
        Assert.True(bgp.GracefulRestart);
        Assert.Equal(120, bgp.RestartTime);
        Assert.False(bgp.ImportRoutes);
        Assert.Equal(179, bgp.Peers[0].Port);
        Assert.Equal(90, bgp.Peers[0].HoldTime);
    }

    [Fact]
    public void RestartMarker_SetUntilACleanStop()
    {
        BgpRestartMarker marker = new(Path.Combine(_dir, "state"));
        Assert.False(marker.PreviousRunCrashed);   // first run ever
        marker.Set();                              // announcing...
        Assert.True(new BgpRestartMarker(Path.Combine(_dir, "state")).PreviousRunCrashed);  // ...killed: the next run sees it
        marker.Clear();                            // a clean stop
        Assert.False(new BgpRestartMarker(Path.Combine(_dir, "state")).PreviousRunCrashed);
    }
}
