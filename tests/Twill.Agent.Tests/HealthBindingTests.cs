using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>docs/security.md: /healthz, /readyz and /metrics are on the node's loopback unless --healthz-ip says otherwise.</summary>
public class HealthBindingTests
{
    private const string VxlanConf = """{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}""";

    [RootFact]
    public void HealthServer_NoHealthzIp_ListensOn127001Only()
    {
        using AgentLab lab = new(VxlanConf, 1, "--healthz-port 9471");
        TestNetns node = lab.Nodes[0];
        Assert.True(AgentLab.Eventually(() => node.Exec("ss", "-Htln", "sport", "= :9471").Stdout.Contains(":9471", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20)), $"nothing listens on :9471\n{lab.Log(0)}");

        string[] listeners = node.Exec("ss", "-Htln", "sport", "= :9471").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string listener = Assert.Single(listeners);
        Assert.Contains(" 127.0.0.1:9471 ", listener + " ", StringComparison.Ordinal);
        Assert.Equal(0, node.Exec("curl", "-sf", "-m", "2", "http://127.0.0.1:9471/metrics").ExitCode);
        // The node's underlay address (what a pod or another node would reach) is refused.
        Assert.NotEqual(0, node.Exec("curl", "-sf", "-m", "2", "http://192.0.2.11:9471/healthz").ExitCode);
    }
}
