namespace Twill.Lab;

public sealed partial class LabController
{
    /// <summary>What <c>--store kube</c> needs besides etcd: the stand-in beside twill, and kubectl.</summary>
    private IEnumerable<string> KubePreflight()
    {
        string api = KubeControlPlane.ApiServerPath(TwillPath);
        if (!File.Exists(api))
        {
            yield return $"--store kube needs the API server stand-in at {api} (run `make build`)";
        }
        if (FindOnPath(KubeControlPlane.KubectlPath) is null)
        {
            yield return "--store kube needs kubectl on PATH (Debian package kubernetes-client)";
        }
    }
}
