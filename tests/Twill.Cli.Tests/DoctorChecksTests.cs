using System.Net;
using Twill.Agent;
using Twill.Agent.Store;
using Twill.Backends;
using Twill.Cli.Doctor;
using Twill.Core;
using Twill.Lab;
using Twill.Leases;
using Twill.Netlink;

namespace Twill.Cli.Tests;

/// <summary>The doctor's pure checks: each node state → its verdict and the exact fix text.</summary>
public class DoctorChecksTests
{
    private static readonly IPAddress NodeIP = IPAddress.Parse("192.0.2.10");
    private const string GoodSubnetEnv = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
    private static readonly string[] AllPlugins = ["flannel", "portmap", "bridge", "host-local", "loopback"];

    /// <summary>A node on which everything is in order: the seed's vxlan network, eth0 at 192.0.2.10, lease 10.244.3.0/24.</summary>
    internal static NodeObservation Healthy(string netConf = SeedConfig.VxlanNetConf, bool windows = false) => new()
    {
        Settings = new DoctorSettings { Windows = windows, SubnetFile = "/run/flannel/subnet.env" },
        Config = NetworkConfig.Parse(netConf, out _),
        ConfigSource = "/etc/kube-flannel/net-conf.json",
        Sysctls = new Dictionary<string, string?>
        {
            [DoctorChecks.IpForwardKey] = "1",
            [DoctorChecks.BridgeNfKey] = "1",
            [DoctorChecks.RpFilterAllKey] = "0",
            [DoctorChecks.RpFilterKey("eth0")] = "0",
            [DoctorChecks.Ip6ForwardKey] = "1",
            [DoctorChecks.BridgeNf6Key] = "1",
        },
        Modules = new HashSet<string> { "br_netfilter", "vxlan" },
        Underlay = Underlay(1500),
        Links = [new Link { Index = 1, Name = "lo" }, new Link { Index = 2, Name = "eth0", Mtu = 1500 }],
        Routes =
        [
            new Route(IPNetwork.Parse("0.0.0.0/0")) { Gateway = IPAddress.Parse("192.0.2.1"), OutputIndex = 2 },
            new Route(IPNetwork.Parse("192.0.2.0/24")) { OutputIndex = 2, Protocol = RouteProtocol.Kernel },
        ],
        Iptables = new IptablesObservation("nf_tables", 0, 12),
        Store = new StoreObservation(StoreKind.File, "file:/var/lib/twill/leases", [OwnLease("vxlan")], null, NodeIP),
        SubnetEnvText = GoodSubnetEnv,
        Cni = new CniObservation([("10-twill.conflist", SeedConfig.CniConfList)], new HashSet<string>(AllPlugins), "/opt/twill/cni", new HashSet<string>(AllPlugins)),
    };

    private static UnderlayChoice Underlay(int mtu, string name = "eth0") => new()
    {
        V4 = new Underlay(2, name, mtu, NodeIP, IPNetwork.Parse("192.0.2.0/24")),
        PublicIP = NodeIP,
    };

    private static Lease OwnLease(string backend) => new(new LeaseSubnets(IPNetwork.Parse("10.244.3.0/24")),
        backend == "vxlan" ? LeaseAttrs.ForVxlan(NodeIP, null) : LeaseAttrs.ForHostGw(NodeIP), DateTimeOffset.UtcNow.AddHours(24), 1);

    private static Finding One(NodeObservation o, string check) => Assert.Single(DoctorChecks.Run(o), f => f.Check == check);

    private static NodeObservation WithSysctl(NodeObservation o, string key, string? value) =>
        o with { Sysctls = new Dictionary<string, string?>(o.Sysctls) { [key] = value } };

    [Fact]
    public void Run_HealthyNode_EveryCheckOk()
    {
        IReadOnlyList<Finding> findings = DoctorChecks.Run(Healthy(windows: true));

        Assert.All(findings, f => Assert.True(f.Verdict == Verdict.Ok, $"{f.Check}: {f.Message}"));
        Assert.Equal(Verdict.Ok, DoctorChecks.Worst(findings));
        Assert.Equal(
            ["net-conf", "br_netfilter", "bridge-nf-call-iptables", "ip_forward", "vxlan module", "iptables backend", "underlay", "udp port",
             "rp_filter", "routes", "subnet.env", "cni conflist", "cni plugins", "store", "lease", "windows"],
            findings.Select(f => f.Check));
        Assert.Equal("eth0 192.0.2.10, MTU 1500 → pod MTU 1450 (underlay − VXLAN overhead)", One(Healthy(), "underlay").Message);
    }

    [Theory]
    [InlineData(DoctorChecks.IpForwardKey, "0", "ip_forward", "sysctl -w net.ipv4.ip_forward=1")]
    [InlineData(DoctorChecks.BridgeNfKey, "0", "bridge-nf-call-iptables", "sysctl -w net.bridge.bridge-nf-call-iptables=1")]
    public void Sysctl_Off_FailsWithTheSysctlThatFixesIt(string key, string value, string check, string fix)
    {
        Finding f = One(WithSysctl(Healthy(), key, value), check);

        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Equal(fix, f.Fix);
        Assert.Equal(new SetSysctl(key, "1"), Assert.Single(f.Remedies));
    }

    [Fact]
    public void BrNetfilter_NotLoadedNorBuiltIn_FailsWithModprobe_AndTheSysctlIsAbsent()
    {
        NodeObservation o = WithSysctl(Healthy() with { Modules = new HashSet<string> { "vxlan" } }, DoctorChecks.BridgeNfKey, null);

        Finding module = One(o, "br_netfilter");
        Assert.Equal(Verdict.Fail, module.Verdict);
        Assert.Equal("modprobe br_netfilter", module.Fix);
        Finding sysctl = One(o, "bridge-nf-call-iptables");
        Assert.Equal(Verdict.Fail, sysctl.Verdict);
        Assert.Contains("does not exist (br_netfilter is not loaded)", sysctl.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BrNetfilter_BuiltIn_OkBecauseItsSysctlExists()
    {
        Finding f = One(Healthy() with { Modules = new HashSet<string>() }, "br_netfilter");

        Assert.Equal(Verdict.Ok, f.Verdict);
        Assert.Contains("built in", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VxlanModule_Missing_WarnsWithModprobe_AndHostGwDoesNotAsk()
    {
        NodeObservation o = Healthy() with { Modules = new HashSet<string> { "br_netfilter" } };
        Finding f = One(o, "vxlan module");
        Assert.Equal(Verdict.Warn, f.Verdict);
        Assert.Equal("modprobe vxlan", f.Fix);

        NodeObservation hostGw = Healthy(SeedConfig.HostGwNetConf) with { Modules = o.Modules, Store = Healthy().Store with { Leases = [OwnLease("host-gw")] } };
        Assert.DoesNotContain(DoctorChecks.Run(hostGw), x => x.Check == "vxlan module" || x.Check == "udp port");
        Assert.Equal("eth0 192.0.2.10, MTU 1500 → pod MTU 1500 (host-gw: the underlay's)", One(hostGw, "underlay").Message);
    }

    [Fact]
    public void Ipv6Network_ForwardingOff_Fails()
    {
        const string dual = """{ "Network": "10.244.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:10:244::/56", "Backend": { "Type": "vxlan" } }""";
        NodeObservation o = WithSysctl(Healthy(dual), DoctorChecks.Ip6ForwardKey, "0") with
        {
            Underlay = Underlay(1500) with { V6 = new Underlay(2, "eth0", 1500, IPAddress.Parse("2001:db8::10"), IPNetwork.Parse("2001:db8::/64")), PublicIPv6 = IPAddress.Parse("2001:db8::10") },
        };

        Finding f = One(o, "ipv6 forwarding");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Equal("sysctl -w net.ipv6.conf.all.forwarding=1", f.Fix);
        // The pod MTU fits both tunnels: the IPv6 one costs 70.
        Assert.Contains("pod MTU 1430", One(o, "underlay").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Iptables_RulesInTheOtherBackend_WarnsAndNamesTheSwitch()
    {
        Finding f = One(Healthy() with { Iptables = new IptablesObservation("nf_tables", 40, 3) }, "iptables backend");

        Assert.Equal(Verdict.Warn, f.Verdict);
        Assert.Contains("the legacy tables hold 40 rules", f.Message, StringComparison.Ordinal);
        Assert.Equal("use the backend the rest of the node uses: update-alternatives --set iptables /usr/sbin/iptables-legacy && update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy", f.Fix);
        Assert.Empty(f.Remedies);
        Assert.Equal(Verdict.Ok, One(Healthy() with { Iptables = new IptablesObservation("legacy", 9, null) }, "iptables backend").Verdict);
    }

    [Fact]
    public void Underlay_NoneFound_FailsAskingForIface()
    {
        Finding f = One(Healthy() with { Underlay = null, UnderlayError = "no IPv4 default route to pick the underlay interface from; pass --iface" }, "underlay");

        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.StartsWith("pass --iface NAME", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Underlay_BackendMtuLargerThanTheUnderlayCarries_Warns()
    {
        const string big = """{ "Network": "10.244.0.0/16", "Backend": { "Type": "vxlan", "VNI": 4096, "Port": 4789, "MTU": 1500 } }""";
        Finding f = One(Healthy(big), "underlay");

        Assert.Equal(Verdict.Warn, f.Verdict);
        Assert.Contains("Backend.MTU 1500 exceeds what the underlay carries encapsulated (1450)", f.Message, StringComparison.Ordinal);
        Assert.Contains("pod MTU 8950", One(Healthy() with { Underlay = Underlay(9000) }, "underlay").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UdpPort_BoundByAProcess_FailsNamingIt()
    {
        NodeObservation o = Healthy() with { PortSockets = [new UdpSocket(IPAddress.Any, 4789, 77, "nc (pid 4242)")] };

        Finding f = One(o, "udp port");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Contains("UDP 4789 is bound by nc (pid 4242)", f.Message, StringComparison.Ordinal);
        Assert.Equal("stop nc (pid 4242), or choose another Backend.Port (the same on every node)", f.Fix);
    }

    [Fact]
    public void UdpPort_KernelSocket_OkForOurDevice_FailForAnotherDeviceWithOurVni_WarnForNoDevice()
    {
        UdpSocket kernel = new(IPAddress.Any, 4789, 5, null);
        Link ours = new() { Index = 3, Name = "flannel.4096", Kind = "vxlan", Vxlan = new VxlanSpec { Name = "flannel.4096", Vni = 4096, Port = 4789 } };
        Link twin = new() { Index = 4, Name = "vx-old", Kind = "vxlan", Vxlan = new VxlanSpec { Name = "vx-old", Vni = 4096, Port = 4789 } };
        NodeObservation o = Healthy() with { PortSockets = [kernel] };

        Assert.Equal(Verdict.Ok, One(o with { Links = [.. o.Links, ours] }, "udp port").Verdict);
        Finding clash = One(o with { Links = [.. o.Links, twin] }, "udp port");
        Assert.Equal(Verdict.Fail, clash.Verdict);
        Assert.Equal("ip link del vx-old (left by another network plugin?)", clash.Fix);
        Assert.Equal(Verdict.Warn, One(o, "udp port").Verdict);
    }

    [Fact]
    public void RpFilter_Strict_WarnsAndLoosensEachStrictKey()
    {
        NodeObservation o = WithSysctl(WithSysctl(Healthy(), DoctorChecks.RpFilterAllKey, "1"), DoctorChecks.RpFilterKey("eth0"), "1");

        Finding f = One(o, "rp_filter");
        Assert.Equal(Verdict.Warn, f.Verdict);
        Assert.Equal("sysctl -w net.ipv4.conf.all.rp_filter=2 && sysctl -w net.ipv4.conf.eth0.rp_filter=2", f.Fix);
        Assert.Equal(Verdict.Ok, One(WithSysctl(Healthy(), DoctorChecks.RpFilterAllKey, "2"), "rp_filter").Verdict);
    }

    [Fact]
    public void SysctlNames_InterfaceDotsBecomeSlashes_AndBackInThePath()
    {
        Assert.Equal("net.ipv4.conf.flannel/4096.rp_filter", DoctorChecks.RpFilterKey("flannel.4096"));
        Assert.Equal("net/ipv4/conf/flannel.4096/rp_filter", DoctorChecks.SysctlPath("net.ipv4.conf.flannel/4096.rp_filter"));
    }

    [Fact]
    public void Routes_ForeignRouteInsideThePodNetwork_FailsWithItsIpRouteDel()
    {
        Route foreign = new(IPNetwork.Parse("10.244.7.0/24")) { Gateway = IPAddress.Parse("192.0.2.1"), OutputIndex = 2 };
        NodeObservation o = Healthy() with { Routes = [.. Healthy().Routes, foreign] };

        Finding f = One(o, "routes");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Contains("route 10.244.7.0/24 via 192.0.2.1 dev eth0 (proto boot) lies in the pod network 10.244.0.0/16", f.Message, StringComparison.Ordinal);
        Assert.Equal("ip route del 10.244.7.0/24 via 192.0.2.1 dev eth0 (or choose a pod network the node does not use)", f.Fix);
    }

    [Fact]
    public void Routes_TwillsOwnAndTheBridgesAreFine_ACoveringRouteWarns()
    {
        Link cni0 = new() { Index = 5, Name = "cni0", Kind = "bridge" };
        NodeObservation o = Healthy() with
        {
            Links = [.. Healthy().Links, cni0],
            Routes =
            [
                .. Healthy().Routes,
                new Route(IPNetwork.Parse("10.244.4.0/24")) { Gateway = IPAddress.Parse("10.244.4.0"), OutputIndex = 2, Protocol = RouteProtocol.Twill },
                new Route(IPNetwork.Parse("10.244.3.0/24")) { OutputIndex = 5, Protocol = RouteProtocol.Kernel },
            ],
        };
        Assert.Equal(Verdict.Ok, One(o, "routes").Verdict);

        Route covering = new(IPNetwork.Parse("10.0.0.0/8")) { Gateway = IPAddress.Parse("192.0.2.254"), OutputIndex = 2 };
        Finding f = One(o with { Routes = [.. o.Routes, covering] }, "routes");
        Assert.Equal(Verdict.Warn, f.Verdict);
        Assert.Contains("covers the pod network", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SubnetEnv_Missing_FailsAndWritesWhatTheAgentWouldFromTheLease()
    {
        Finding f = One(Healthy() with { SubnetEnvText = null }, "subnet.env");

        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Contains("CNI code 11", f.Message, StringComparison.Ordinal);
        WriteOwnedFile write = Assert.IsType<WriteOwnedFile>(Assert.Single(f.Remedies));
        Assert.Equal("/run/flannel/subnet.env", write.Path);
        Assert.Equal("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\n", write.Content);
        Assert.Equal("write /run/flannel/subnet.env (from this node's lease 10.244.3.0/24)", f.Fix);
    }

    [Fact]
    public void SubnetEnv_Stale_FailsNamingTheField_KeepingIpMasq()
    {
        Finding f = One(Healthy() with { SubnetEnvText = GoodSubnetEnv.Replace("10.244.3.1/24", "10.244.9.1/24", StringComparison.Ordinal) }, "subnet.env");

        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Contains("FLANNEL_SUBNET 10.244.9.1/24, should be 10.244.3.1/24", f.Message, StringComparison.Ordinal);
        Assert.Equal(GoodSubnetEnv, Assert.IsType<WriteOwnedFile>(Assert.Single(f.Remedies)).Content);
        Finding mtu = One(Healthy() with { SubnetEnvText = GoodSubnetEnv.Replace("1450", "1500", StringComparison.Ordinal) }, "subnet.env");
        Assert.Contains("FLANNEL_MTU 1500, should be 1450", mtu.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SubnetEnv_MissingWithoutALease_FailsAskingForTheAgent()
    {
        NodeObservation o = Healthy() with { SubnetEnvText = null, Store = Healthy().Store with { Leases = [] } };

        Finding f = One(o, "subnet.env");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Empty(f.Remedies);
        Assert.Contains("start the agent", f.Fix, StringComparison.Ordinal);
        Assert.Equal(Verdict.Warn, One(o, "lease").Verdict);
    }

    [Fact]
    public void Conflist_None_FailsAndWritesTheSeedsConflist_AnotherFirst_FailsAskingToMoveIt()
    {
        NodeObservation none = Healthy() with { Settings = Healthy().Settings with { CniConfDir = "/etc/cni/net.d" }, Cni = Healthy().Cni with { ConfFiles = [] } };
        Finding f = One(none, "cni conflist");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Equal("write /etc/cni/net.d/10-twill.conflist (the seed's vxlan0 conflist)", f.Fix);
        Assert.Equal(SeedConfig.CniConfList, Assert.IsType<WriteOwnedFile>(Assert.Single(f.Remedies)).Content);

        const string calico = """{ "name": "k8s-pod-network", "plugins": [ { "type": "calico" } ] }""";
        NodeObservation other = none with { Cni = Healthy().Cni with { ConfFiles = [("10-calico.conflist", calico), ("10-twill.conflist", SeedConfig.CniConfList)] } };
        Finding g = One(other, "cni conflist");
        Assert.Equal(Verdict.Fail, g.Verdict);
        Assert.Empty(g.Remedies);
        Assert.Equal("move /etc/cni/net.d/10-calico.conflist away (another network plugin's?), so that 10-twill.conflist comes first", g.Fix);
    }

    [Fact]
    public void Plugins_Missing_FailsAndCopiesTwillsOwn()
    {
        NodeObservation o = Healthy() with { Cni = Healthy().Cni with { Binaries = new HashSet<string> { "bridge", "host-local", "loopback" } } };

        Finding f = One(o, "cni plugins");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Equal("cp /opt/twill/cni/flannel /opt/twill/cni/portmap /opt/cni/bin/", f.Fix);
        Assert.Equal(new[] { "flannel", "portmap" }, Assert.IsType<InstallPlugins>(Assert.Single(f.Remedies)).Names);
    }

    [Fact]
    public void Windows_LinuxDefaults_FailNamingVniAndPort()
    {
        const string linux = """{ "Network": "10.244.0.0/16", "Backend": { "Type": "vxlan" } }""";
        NodeObservation o = Healthy(linux, windows: true) with { SubnetEnvText = GoodSubnetEnv };

        Finding f = One(o, "windows");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.Contains("VNI 1 (Windows accepts 4096 or above)", f.Message, StringComparison.Ordinal);
        Assert.Contains("port 8472 (Windows listens on 4789 only)", f.Message, StringComparison.Ordinal);
        Assert.StartsWith("set \"VNI\": 4096, \"Port\": 4789", f.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain(DoctorChecks.Run(Healthy(linux)), x => x.Check == "windows");
    }

    [Fact]
    public void Store_Unauthorized_FailsSayingSo_EtcdDown_FailsNamingEtcdctl()
    {
        NodeObservation kube = Healthy() with { Store = new StoreObservation(StoreKind.Kube, "kube:https://192.0.2.1:6443", null, "list nodes: 401 Unauthorized", NodeIP) { HttpStatus = 401 } };
        Finding f = One(kube, "store");
        Assert.Equal(Verdict.Fail, f.Verdict);
        Assert.StartsWith("kube:https://192.0.2.1:6443: 401 Unauthorized: ", f.Message, StringComparison.Ordinal);
        Assert.StartsWith("the API server refused the token", f.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain(DoctorChecks.Run(kube), x => x.Check == "lease");

        NodeObservation etcd = Healthy() with { Store = new StoreObservation(StoreKind.Etcd, "etcd:http://192.0.2.1:2379", null, "no answer within 5 s", NodeIP) };
        Assert.Contains("etcdctl --endpoints=URL endpoint health", One(etcd, "store").Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void NetConf_Unreadable_FailsAndOnlyTheChecksThatNeedNoConfigRun()
    {
        NodeObservation o = Healthy() with { Config = null, ConfigError = "/etc/kube-flannel/net-conf.json does not exist" };

        IReadOnlyList<Finding> findings = DoctorChecks.Run(o);
        Assert.Equal(Verdict.Fail, findings[0].Verdict);
        Assert.Equal("net-conf", findings[0].Check);
        Assert.DoesNotContain(findings, f => f.Check is "underlay" or "subnet.env" or "routes");
        Assert.Contains(findings, f => f.Check == "ip_forward");
    }

    [Fact]
    public void Report_TextMarksAndFixes_JsonVerdicts()
    {
        NodeObservation o = WithSysctl(Healthy(), DoctorChecks.IpForwardKey, "0") with { Iptables = new IptablesObservation("nf_tables", 4, 0) };
        IReadOnlyList<Finding> findings = DoctorChecks.Run(o);

        string text = DoctorReport.Text(findings, [new FixOutcome("rp_filter", "sysctl -w net.ipv4.conf.all.rp_filter=2", null)]);
        Assert.StartsWith("fixed: rp_filter: sysctl -w net.ipv4.conf.all.rp_filter=2\n", text, StringComparison.Ordinal);
        Assert.Contains("✗ ip_forward               net.ipv4.ip_forward = 0", text, StringComparison.Ordinal);
        Assert.Contains("fix (--fix does it): sysctl -w net.ipv4.ip_forward=1", text, StringComparison.Ordinal);
        Assert.Contains("⚠ iptables backend", text, StringComparison.Ordinal);
        Assert.Contains("✓ routes", text, StringComparison.Ordinal);
        Assert.EndsWith("1 failed, 1 warning(s), 13 ok\n", text, StringComparison.Ordinal);

        using System.Text.Json.JsonDocument json = System.Text.Json.JsonDocument.Parse(DoctorReport.Json(findings, []));
        Assert.Equal("fail", json.RootElement.GetProperty("verdict").GetString());
        System.Text.Json.JsonElement ipf = json.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("check").GetString() == "ip_forward");
        Assert.Equal("fail", ipf.GetProperty("verdict").GetString());
        Assert.True(ipf.GetProperty("fixable").GetBoolean());
        Assert.Equal("sysctl -w net.ipv4.ip_forward=1", ipf.GetProperty("fix").GetString());
    }
}
