namespace Twill.Agent.Tests;

/// <summary>
/// An <see cref="AgentLab"/> whose agents run <c>--kube-subnet-mgr</c> against a
/// <see cref="KubeControlPlane"/> on its switch; node i is registered as <c>n&lt;i+1&gt;</c> with its
/// podCIDR(s) before any agent starts (the kubelet's and kube-controller-manager's part). Dispose
/// stops the control plane first (the agents' store goes away), then the agents and namespaces.
/// </summary>
internal sealed class KubeLab : IDisposable
{
    private KubeControlPlane? _controlPlane;

    public KubeLab(string netConf, string[][] podCidrs, string? extraAgentArgs = null)
    {
        try
        {
            Lab = new AgentLab(netConf, podCidrs.Length, extraAgentArgs, storeArgs: ["--kube-subnet-mgr"], beforeAgents: l =>
            {
                KubeControlPlane cp = new(l.Switch, l.Dir);
                _controlPlane = cp;
                for (int i = 0; i < podCidrs.Length; i++)
                {
                    cp.CreateNode($"n{i + 1}", podCidrs[i]);
                }
                l.UseStoreArgs(["--kube-subnet-mgr", "--kubeconfig-file", cp.KubeconfigPath]);
            });
        }
        catch
        {
            _controlPlane?.Dispose();
            throw;
        }
    }

    public AgentLab Lab { get; }

    public KubeControlPlane ControlPlane => _controlPlane!;

    /// <summary>Every agent's log and the stand-in's, for a failed assertion.</summary>
    public string Diagnose() =>
        string.Join("\n---\n", Enumerable.Range(0, Lab.Nodes.Count).Select(Lab.Log)) + "\n--- stand-in:\n" + ControlPlane.LogTail();

    public void Dispose()
    {
        _controlPlane?.Dispose();
        Lab.Dispose();
    }
}
