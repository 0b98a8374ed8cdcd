using System.Net;
using Twill.Bgp.Config;

namespace Twill.Bgp.Tests;

public class ConfigTests
{
    [Fact]
    public void Read_FullExample_EveryField()
    {
        BgpBackendConfig c = BgpBackendConfigReader.Parse("""
            {
              "Type": "bgp", "asn": 64512, "NodeASNs": {"node-b": "1.10"}, "RouterID": "198.51.100.11",
              "Peers": [
                {"Address": "198.51.100.1", "ASN": 65000, "Port": 1179, "HoldTime": 9, "Password": "k"},
                {"Address": "2001:db8:1::1", "ASN": 4200000001, "PasswordFile": "/etc/twill/md5"}
              ],
              "GracefulRestart": false, "RestartTime": 300, "Communities": ["64512:100", 7],
              "ImportRoutes": true, "MaxPrefixes": 50, "ConnectTimeout": 3, "Color": "blue"
            }
            """, out IReadOnlyList<string> warnings);
        Assert.Equal(TorMode.Bgp, c.Mode);
        Assert.Equal(64512u, c.AsnOf("node-a"));
        Assert.Equal(65546u, c.AsnOf("node-b")); // asdot 1.10
        Assert.Equal(IPAddress.Parse("198.51.100.11"), c.RouterId);
        Assert.Equal(2, c.Peers.Count);
        Assert.Equal((1179, (ushort)9, "k"), (c.Peers[0].Port, c.Peers[0].HoldTime, c.Peers[0].Password));
        Assert.Equal((4200000001u, 179, (ushort)90, "/etc/twill/md5"), (c.Peers[1].Asn, c.Peers[1].Port, c.Peers[1].HoldTime, c.Peers[1].PasswordFile));
        Assert.False(c.GracefulRestart);
        Assert.Equal((ushort)300, c.RestartTime);
        Assert.Equal([(64512u << 16) | 100, 7u], c.Communities);
        Assert.True(c.ImportRoutes);
        Assert.Equal(50, c.MaxPrefixes);
        Assert.Equal(TimeSpan.FromSeconds(3), c.ConnectTimeout);
        Assert.Equal(["Backend.Color: unknown key ignored"], warnings);
    }

    [Fact]
    public void Read_Minimal_TakesTheDefaults()
    {
        BgpBackendConfig c = BgpBackendConfigReader.Parse("""{"Type":"bgp","ASN":64512,"Peers":[{"Address":"198.51.100.1","ASN":65000}]}""", out _);
        Assert.True(c.GracefulRestart);
        Assert.Equal((ushort)120, c.RestartTime);
        Assert.False(c.ImportRoutes);
        Assert.Equal((179, (ushort)90), (c.Peers[0].Port, c.Peers[0].HoldTime));
        Assert.Null(c.Peers[0].ResolvePassword("p"));
    }

    [Fact]
    public void Read_StaticMode_NeedsNoPeers() =>
        Assert.Equal(TorMode.Static, BgpBackendConfigReader.Parse("""{"Type":"bgp","Mode":"static"}""", out _).Mode);

    [Fact]
    public void Read_EveryErrorAtOnce_EachNamingFieldAndValue()
    {
        BgpConfigException e = Assert.Throws<BgpConfigException>(() => BgpBackendConfigReader.Parse("""
            {
              "Type": "bgp", "ASN": 23456, "RouterID": "2001:db8::1",
              "Peers": [
                {"Address": "198.51.100.300", "ASN": 0, "Port": 0, "HoldTime": 2, "Password": "a", "PasswordFile": "/x"},
                {"ASN": 65000, "PasswordFile": "relative"},
                "198.51.100.1"
              ],
              "RestartTime": 5000, "Communities": ["65536:1"], "GracefulRestart": "yes", "MaxPrefixes": 0, "Mode": "ospf"
            }
            """, out _));
        string[] expected =
        [
            "Backend.ASN: 23456 is reserved",
            "Backend.RouterID: a router ID is a non-zero IPv4 address, got \"2001:db8::1\"",
            "Backend.Peers[0].Address: expected an IP address, got \"198.51.100.300\"",
            "Backend.Peers[0].ASN: 0 is reserved",
            "Backend.Peers[0].Port: expected an integer 1..65535, got 0",
            "Backend.Peers[0].HoldTime: 2 s is not allowed",
            "Backend.Peers[0]: set Password or PasswordFile, not both",
            "Backend.Peers[1].PasswordFile: an absolute path, got \"relative\"",
            "Backend.Peers[1].Address: missing",
            "Backend.Peers[2]: expected an object",
            "Backend.RestartTime: expected an integer 1..4095, got 5000",
            "Backend.Communities[0]: expected \"high:low\"",
            "Backend.GracefulRestart: expected true or false, got \"yes\"",
            "Backend.MaxPrefixes: expected an integer 1..1000000, got 0",
            "Backend.Mode: expected \"bgp\" or \"static\", got \"ospf\"",
        ];
        foreach (string message in expected)
        {
            Assert.Contains(e.Errors, x => x.StartsWith(message, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Read_BgpModeWithoutAsnOrPeers_SaysWhatToSet()
    {
        BgpConfigException e = Assert.Throws<BgpConfigException>(() => BgpBackendConfigReader.Parse("""{"Type":"bgp"}""", out _));
        Assert.Contains(e.Errors, x => x.StartsWith("Backend.ASN: missing", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.StartsWith("Backend.Peers: at least one peer", StringComparison.Ordinal));
    }

    [Fact]
    public void PeerSettings_ReadsThePasswordFile_AndNamesItWhenUnreadable()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "from-a-file\n");
            BgpBackendConfig c = BgpBackendConfigReader.Parse($$"""{"Type":"bgp","ASN":64512,"Peers":[{"Address":"198.51.100.1","ASN":65000,"PasswordFile":"{{file}}"}]}""", out _);
            var settings = Assert.Single(c.PeerSettings("node-a", IPAddress.Parse("198.51.100.11")));
            Assert.Equal("from-a-file", settings.Md5Password);
            Assert.Equal(IPAddress.Parse("198.51.100.11"), settings.RouterId);
            Assert.Equal((64512u, 65000u, true, (ushort)120), (settings.LocalAsn, settings.PeerAsn, settings.GracefulRestart, settings.RestartTime));
            File.Delete(file);
            BgpConfigException e = Assert.Throws<BgpConfigException>(() => c.PeerSettings("node-a", IPAddress.Parse("198.51.100.11")));
            Assert.StartsWith($"Backend.Peers[0].PasswordFile: cannot read \"{file}\"", e.Errors[0], StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
