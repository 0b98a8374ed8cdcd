using System.Text.Json.Nodes;

namespace Twill.Cni.Conformance.Harness;

/// <summary>
/// One run of a scenario against one plugin set: the node, and the transcript of what happened
/// (normalised results, error codes, state snapshots). Two runs are compared line by line.
/// </summary>
public sealed class Run : IDisposable
{
    private readonly List<string> _lines = [];

    public Run(PluginSet set)
    {
        Node = new Node(set);
        Norm = new Normalizer(Node);
    }

    public Node Node { get; }

    public Normalizer Norm { get; }

    public PluginSet Set => Node.Set;

    public bool IsReference => Set == PluginSet.Reference;

    public IReadOnlyList<string> Lines => _lines;

    public void Note(string line) => _lines.Add(line);

    /// <summary>
    /// Records an outcome: on success the normalised JSON it printed; on failure only the error
    /// code (messages are worded differently and that is allowed), unless <paramref name="exactMessage"/>.
    /// </summary>
    public CniOutcome Record(string step, CniOutcome o, bool exactMessage = false)
    {
        if (o.Ok && o.Stdout.Contains("\"interfaces\"", StringComparison.Ordinal))
        {
            Norm.LearnVeths(); // a new host-side veth to normalise
        }
        if (o.Ok)
        {
            _lines.Add($"{step}: ok");
            if (!string.IsNullOrWhiteSpace(o.Stdout))
            {
                _lines.AddRange(Norm.Json(o.Json ?? JsonValue.Create(o.Stdout.Trim())).Split('\n').Select(l => "  " + l.TrimEnd('\r')));
            }
        }
        else
        {
            string code = o.ErrorCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? $"(no error JSON; exit {o.ExitCode}; stdout {o.Stdout.Trim()}; stderr {o.Stderr.Trim()})";
            _lines.Add($"{step}: error code={code}" + (exactMessage ? $" msg={Norm.Text(o.ErrorMessage)}" : ""));
            if (!exactMessage)
            {
                // Kept out of the comparison, shown when a diff is printed.
                _lines.Add($"    ~ {Norm.Text(o.ErrorMessage)}");
            }
        }
        return o;
    }

    public CniOutcome Add(NetworkList net, Attachment a, string? step = null) =>
        Record(step ?? $"ADD {a.ContainerId}", Libcni.Add(Node, net, a));

    public CniOutcome Check(NetworkList net, Attachment a, string? step = null) =>
        Record(step ?? $"CHECK {a.ContainerId}", Libcni.Check(Node, net, a));

    public CniOutcome Del(NetworkList net, Attachment a, string? step = null) =>
        Record(step ?? $"DEL {a.ContainerId}", Libcni.Del(Node, net, a));

    /// <summary>
    /// A CHECK where the reference 1.1.1 is known to be wrong and upstream (1.3.0) fixed it: the
    /// reference's answer is not compared; ours must succeed, as the spec and upstream say.
    /// </summary>
    public void CheckFollowingUpstream(NetworkList net, Attachment a, string why)
    {
        CniOutcome o = Libcni.Check(Node, net, a);
        if (IsReference)
        {
            _lines.Add($"CHECK {a.ContainerId}: ok (reference 1.1.1 not compared: {why})");
            _lines.Add($"    ~ reference said: {(o.Ok ? "ok" : Norm.Text(o.ErrorMessage))}");
        }
        else
        {
            _lines.Add(o.Ok
                ? $"CHECK {a.ContainerId}: ok (reference 1.1.1 not compared: {why})"
                : $"CHECK {a.ContainerId}: error code={o.ErrorCode} {Norm.Text(o.ErrorMessage)} (the spec and upstream 1.3.0 expect success: {why})");
        }
    }

    /// <summary>Appends the node's state and each live pod's.</summary>
    public void Snapshot(string label)
    {
        // IPv6 duplicate address detection finishes on the kernel's clock, not the plugin's: a fast
        // plugin returns while an address is still tentative (no local route yet). Compare the
        // settled state, the same for both implementations.
        StateProbe.SettleAddresses(Node.Ns);
        foreach (Pod pod in Node.Pods.Where(p => !p.Deleted))
        {
            StateProbe.SettleAddresses(pod.Ns);
        }
        Norm.LearnVeths();
        _lines.Add($"--- state {label}: node");
        _lines.AddRange(StateProbe.Node(Node, Norm).Select(l => "  " + l));
        foreach (Pod pod in Node.Pods.Where(p => !p.Deleted))
        {
            _lines.Add($"--- state {label}: pod {pod.Label}");
            _lines.AddRange(StateProbe.Pod(pod, Norm).Select(l => "  " + l));
        }
    }

    /// <summary>Appends host-local's data dir only (IPAM-only scenarios touch nothing else).</summary>
    public void DataDir(string label)
    {
        _lines.Add($"--- data dir {label}");
        _lines.AddRange(StateProbe.DataDir(Node.IpamDir).Select(l => "  " + Norm.Text(l)));
    }

    public void Dispose() => Node.Dispose();
}
