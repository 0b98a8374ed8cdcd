using k8s;
using k8s.Models;
using Twill.Testing;

namespace Twill.Deploy.Tests;

/// <summary>
/// What <c>twill manifest</c> renders, loaded by the official client into its typed models
/// (strict: a field the models do not know is an error, as kubectl's strict validation would be).
/// </summary>
internal sealed record DeployManifest(string Yaml, IReadOnlyList<object> Objects)
{
    private static readonly Dictionary<string, Type> Kinds = new()
    {
        ["v1/Namespace"] = typeof(V1Namespace),
        ["v1/ServiceAccount"] = typeof(V1ServiceAccount),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["rbac.authorization.k8s.io/v1/ClusterRole"] = typeof(V1ClusterRole),
        ["rbac.authorization.k8s.io/v1/ClusterRoleBinding"] = typeof(V1ClusterRoleBinding),
        ["apps/v1/DaemonSet"] = typeof(V1DaemonSet),
    };

    public V1DaemonSet DaemonSet => Objects.OfType<V1DaemonSet>().Single();

    public V1ConfigMap ConfigMap(string name) => Objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == name);

    /// <summary>The ConfigMap file a pod volume of the DaemonSet mounts (net-conf.json, cni-conf.json).</summary>
    public string ConfigFile(string key) =>
        DaemonSet.Spec.Template.Spec.Volumes.Where(v => v.ConfigMap is not null)
            .Select(v => ConfigMap(v.ConfigMap.Name).Data)
            .Single(d => d.ContainsKey(key))[key];

    public static DeployManifest Parse(string yaml) => new(yaml, KubernetesYaml.LoadAllFromString(yaml, Kinds, strict: true));

    /// <summary>The default render of the built <c>twill manifest</c> (equal to deploy/twill.yml, which the Cli tests hold it to).</summary>
    public static DeployManifest Render(string twill, params string[] args)
    {
        Tool.Result r = Tool.Run(twill, ["manifest", .. args], stdin: null);
        Assert.True(r.ExitCode == 0, $"twill manifest exited {r.ExitCode}: {r.Stderr}");
        return Parse(r.Stdout);
    }
}
