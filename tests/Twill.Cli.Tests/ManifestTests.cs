using Twill.Cli.Manifest;
using Twill.Testing;

namespace Twill.Cli.Tests;

/// <summary>`twill manifest`: the default render is deploy/twill.yml; what cannot work is refused with the reason.</summary>
public sealed class ManifestTests
{
    private static string RepoFile(string relative)
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "Twill.slnx")))
        {
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found");
        }
        return Path.Combine(dir, relative);
    }

    private static string Rendered(ManifestOptions options)
    {
        (string? yaml, IReadOnlyList<string> refusals) = ManifestRenderer.Render(options);
        Assert.Empty(refusals);
        return yaml!;
    }

    private static IReadOnlyList<string> Refused(ManifestOptions options)
    {
        (string? yaml, IReadOnlyList<string> refusals) = ManifestRenderer.Render(options);
        Assert.Null(yaml);
        Assert.NotEmpty(refusals);
        return refusals;
    }

    [Fact]
    public void DefaultRender_IsDeployTwillYml_ByteForByte()
    {
        Assert.Equal(File.ReadAllText(RepoFile("deploy/twill.yml")), Rendered(new ManifestOptions()));
    }

    [Fact]
    public void DefaultRender_CarriesTheSeedsConfigUnchanged()
    {
        string yaml = Rendered(new ManifestOptions());
        Assert.Contains("\"Network\": \"10.244.0.0/16\"", yaml, StringComparison.Ordinal);
        Assert.Contains("\"VNI\": 4096", yaml, StringComparison.Ordinal);
        Assert.Contains("\"Port\": 4789", yaml, StringComparison.Ordinal);
        Assert.Contains("\"name\": \"vxlan0\"", yaml, StringComparison.Ordinal);
        Assert.Contains("kubernetes.io/os: linux", yaml, StringComparison.Ordinal);
        Assert.Contains("--kube-subnet-mgr", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_ReachTheRender()
    {
        string yaml = Rendered(new ManifestOptions { Backend = "host-gw", Network = "10.100.0.0/16", Image = "registry.example/twill:1.2" });
        Assert.Contains("\"Type\": \"host-gw\"", yaml, StringComparison.Ordinal);
        Assert.Contains("\"Network\": \"10.100.0.0/16\"", yaml, StringComparison.Ordinal);
        Assert.Contains("image: registry.example/twill:1.2", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("\"VNI\":", yaml, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vni", "--vni 1: Windows")]
    [InlineData("port", "--port 8472: Windows")]
    [InlineData("gbp", "--gbp with --windows")]
    [InlineData("direct", "--direct-routing with --windows")]
    public void Windows_RefusesWhatWindowsNodesCannotDo(string what, string reason)
    {
        ManifestOptions o = what switch
        {
            "vni" => new ManifestOptions { Windows = true, Vni = 1 },
            "port" => new ManifestOptions { Windows = true, Port = 8472 },
            "gbp" => new ManifestOptions { Windows = true, Gbp = true },
            _ => new ManifestOptions { Windows = true, DirectRouting = true },
        };
        Assert.Contains(Refused(o), r => r.StartsWith(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void LinuxOnly_AcceptsFlannelsLinuxDefaults()
    {
        Assert.Contains("\"VNI\": 1", Rendered(new ManifestOptions { Vni = 1, Port = 8472 }), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.244.0.0/28", "too small")]
    [InlineData("10.244.0.0/24", "too small")]
    [InlineData("10.244.0.0", "not an IPv4 CIDR")]
    [InlineData("fd00::/48", "not an IPv4 CIDR")]
    public void Network_RefusedWithTheReason(string network, string reason)
    {
        Assert.Contains(Refused(new ManifestOptions { Network = network }), r => r.Contains(reason, StringComparison.Ordinal) && r.Contains(network, StringComparison.Ordinal));
    }

    [Fact]
    public void HostGw_RefusesVxlanSettings()
    {
        Assert.Contains(Refused(new ManifestOptions { Backend = "host-gw", Vni = 4096 }), r => r.Contains("vxlan settings", StringComparison.Ordinal));
        Assert.Contains(Refused(new ManifestOptions { Backend = "udp" }), r => r.Contains("must be vxlan or host-gw", StringComparison.Ordinal));
    }
}

/// <summary>The real kubectl accepts deploy/twill.yml against the API server stand-in (client dry run, then for real).</summary>
[Trait("Category", "Binary")]
public sealed class ManifestKubectlTests
{
    [Fact]
    public void KubectlApply_AcceptsDeployTwillYml()
    {
        Assert.True(KubeApiServer.IsInstalled, "out/bin/twill-kube-apiserver and etcd are needed (make build; build/install-deps.sh)");
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "Twill.slnx")))
        {
            dir = Path.GetDirectoryName(dir)!;
        }
        string manifest = Path.Combine(dir, "deploy", "twill.yml");
        using KubeApiServer server = KubeApiServer.Start();
        Tool.Result dry = server.Kubectl("apply", "--dry-run=client", "-f", manifest);
        Assert.True(dry.ExitCode == 0, dry.Stderr + dry.Stdout);
        Assert.Contains("(dry run)", dry.Stdout, StringComparison.Ordinal);
        Tool.Result real = server.Kubectl("apply", "-f", manifest);
        Assert.True(real.ExitCode == 0, real.Stderr + real.Stdout);
        Assert.Contains("daemonset.apps/", real.Stdout, StringComparison.Ordinal);
        Assert.Contains("clusterrole.rbac.authorization.k8s.io/", real.Stdout, StringComparison.Ordinal);
    }
}
