using Twill.Testing;

namespace Twill.Cni.Conformance.Harness;

/// <summary>
/// A throw-away Kubernetes "node" for one run: its own network namespace (where the plugins run and
/// leave the bridge, host veths, sysctls and iptables rules), a temp directory for host-local's
/// dataDir, flannel's dataDir and subnet.env, and the pod namespaces made for it.
/// </summary>
public sealed class Node : IDisposable
{
    private readonly List<Pod> _pods = [];

    public Node(PluginSet set)
    {
        Set = set;
        PluginDir = PluginDirs.For(set);
        Ns = new TestNetns(set == PluginSet.Reference ? "ref" : "our");
        Dir = Path.Combine(Path.GetTempPath(), Ns.Name);
        Directory.CreateDirectory(Dir);
    }

    public PluginSet Set { get; }

    public string PluginDir { get; }

    public TestNetns Ns { get; }

    /// <summary>Temp directory of this node; configs say <c>$DIR</c> and <see cref="Expand"/> fills it in.</summary>
    public string Dir { get; }

    /// <summary>host-local's dataDir (instead of /var/lib/cni/networks, which is the machine's).</summary>
    public string IpamDir => Path.Combine(Dir, "ipam");

    public string FlannelDir => Path.Combine(Dir, "flannel");

    public string SubnetFile => Path.Combine(Dir, "subnet.env");

    public IReadOnlyList<Pod> Pods => _pods;

    /// <summary>A new pod namespace; the label is what normalised output calls it.</summary>
    public Pod Pod(string label)
    {
        Pod pod = new(label, new TestNetns("p" + label));
        _pods.Add(pod);
        return pod;
    }

    public string Expand(string template) => template.Replace("$DIR", Dir, StringComparison.Ordinal);

    public CniOutcome Exec(string type, CniRequest request) => CniExec.Run(PluginDir, type, request, Ns.Name);

    /// <summary>A command inside the node namespace; throws when it fails.</summary>
    public string Sh(params string[] command) => Ns.Exec(command).EnsureSuccess(string.Join(' ', command)).Stdout;

    public void Dispose()
    {
        foreach (Pod pod in _pods)
        {
            pod.Dispose();
        }
        Ns.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // A file still locked or already gone: the temp dir is harmless, the namespaces are not.
        }
    }
}

/// <summary>A pod's network namespace with the label the scenario gave it.</summary>
public sealed class Pod(string label, TestNetns ns) : IDisposable
{
    public string Label { get; } = label;

    public TestNetns Ns { get; } = ns;

    public string Path => Ns.Path;

    public bool Deleted { get; private set; }

    /// <summary>Removes the namespace now (the "netns gone before DEL" case).</summary>
    public void Delete()
    {
        Ns.Dispose();
        Deleted = true;
    }

    public void Dispose() => Ns.Dispose();
}
