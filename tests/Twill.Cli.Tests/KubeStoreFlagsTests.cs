using Twill.Agent;
using Twill.Agent.Store;

namespace Twill.Cli.Tests;

/// <summary>Flannel's --kube-subnet-mgr flags through the one store-options model.</summary>
public class KubeStoreFlagsTests
{
    [Fact]
    public void Parse_KubeFlags_FromCommandLineAndEnvironment()
    {
        Dictionary<string, string> env = new(StringComparer.Ordinal)
        {
            ["TWILL_KUBE_API_URL"] = "https://192.0.2.1:6443",
            ["TWILL_KUBECONFIG_FILE"] = "/env/kubeconfig",
        };

        LeaseStoreOptions o = AgentFlags.Parse(["--kube-subnet-mgr", "--kubeconfig-file", "/etc/kubeconfig", "--kube-annotation-prefix", "example.com/net",
            "--set-node-network-unavailable=false"], env).LeaseStore;

        Assert.Equal(StoreKind.Kube, o.Kind);
        Assert.Equal("/etc/kubeconfig", o.Kube.KubeconfigFile);
        Assert.Equal("https://192.0.2.1:6443", o.Kube.ApiUrl);
        Assert.Equal("example.com/net", o.Kube.AnnotationPrefix);
        Assert.False(o.Kube.SetNodeNetworkUnavailable);
    }

    [Fact]
    public void Parse_KubeDefaults_AreFlannels()
    {
        LeaseStoreOptions o = AgentFlags.Parse(["--kube-subnet-mgr"], new Dictionary<string, string>()).LeaseStore;

        Assert.Equal("flannel.alpha.coreos.com", o.Kube.AnnotationPrefix);
        Assert.True(o.Kube.SetNodeNetworkUnavailable);
        Assert.Null(o.Kube.KubeconfigFile);
    }

    [Fact]
    public void Create_BadAnnotationPrefix_UsageErrorNamingIt()
    {
        LeaseStoreOptions o = AgentFlags.Parse(["--kube-subnet-mgr", "--kube-annotation-prefix", "a/b/c", "--kube-api-url", "https://192.0.2.1:6443"],
            new Dictionary<string, string>()).LeaseStore;

        FormatException e = Assert.Throws<FormatException>(() => LeaseStoreKinds.Create(o, LeaseStoreUse.Inspect, _ => { }));
        Assert.Contains("--kube-annotation-prefix 'a/b/c'", e.Message, StringComparison.Ordinal);
    }
}
