using Twill.Core;

namespace Twill.Backends.Tests;

public class BackendSettingsTests
{
    [Fact]
    public void From_VxlanWithoutOptions_FlannelDefaults()
    {
        NetworkConfig config = NetworkConfig.Parse("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}""", out _);

        BackendSettings s = BackendSettings.From(config.Backend);

        Assert.Equal(BackendKind.Vxlan, s.Kind);
        Assert.Equal(1, s.Vni);
        Assert.Equal(8472, s.EffectivePort);
        Assert.Equal("flannel.1", s.DeviceName);
        Assert.Null(s.Mtu);
        Assert.False(s.Learning);
    }

    [Fact]
    public void From_WindowsReadyVxlan_CarriesEveryField()
    {
        BackendSettings s = BackendSettings.From(new VxlanBackendConfig { Vni = 4096, Port = 4789, Mtu = 1400, Gbp = true, Learning = true, DirectRouting = true });

        Assert.Equal(new BackendSettings { Kind = BackendKind.Vxlan, Vni = 4096, Port = 4789, Mtu = 1400, Gbp = true, Learning = true, DirectRouting = true }, s);
        Assert.Equal(4789, s.EffectivePort);
        Assert.Equal("flannel.4096", s.DeviceName);
    }

    [Fact]
    public void From_HostGw_HostGwKind()
    {
        Assert.Equal(BackendKind.HostGw, BackendSettings.From(new HostGwBackendConfig()).Kind);
    }
}
