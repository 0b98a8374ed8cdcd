using System.Runtime.CompilerServices;

namespace Twill.Cni.Conformance.Harness;

/// <summary>Which implementation of the CNI plugins a run uses.</summary>
public enum PluginSet
{
    /// <summary>Debian's containernetworking-plugins 1.1.1 in /usr/lib/cni: the oracle.</summary>
    Reference,

    /// <summary>Ours: the multi-call binary in $TWILL_CNI_DIR (default &lt;repo&gt;/out/cni).</summary>
    Ours,
}

/// <summary>Where each plugin set lives, and the check that ours has been built.</summary>
public static class PluginDirs
{
    public const string Reference = "/usr/lib/cni";

    public static readonly string[] OurTypes = ["flannel", "bridge", "host-local", "portmap", "loopback"];

    /// <summary>The repository root, found from this source file so it works from any artifacts path.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Ours
    {
        get
        {
            string? dir = Environment.GetEnvironmentVariable("TWILL_CNI_DIR");
            return string.IsNullOrEmpty(dir) ? Path.Combine(RepoRoot, "out", "cni") : dir;
        }
    }

    public static string For(PluginSet set) => set == PluginSet.Reference ? Reference : Ours;

    /// <summary>
    /// Throws with an actionable message when a plugin binary of the set is missing. Tests call it
    /// first, so an unbuilt tree fails loudly instead of being skipped or compared against nothing.
    /// </summary>
    public static void EnsurePresent(PluginSet set, params string[] types)
    {
        string dir = For(set);
        foreach (string type in types.Length == 0 ? OurTypes : types)
        {
            string path = Path.Combine(dir, type);
            if (!File.Exists(path))
            {
                string hint = set == PluginSet.Ours
                    ? "our CNI plugins are not built: run `make build` (or set TWILL_CNI_DIR to a directory holding flannel, bridge, host-local, portmap, loopback)"
                    : "the reference plugins are missing: run build/install-deps.sh (Debian containernetworking-plugins)";
                throw new InvalidOperationException($"{path} does not exist; {hint}");
            }
        }
    }

    private static string FindRepoRoot([CallerFilePath] string source = "")
    {
        string? dir = Path.GetDirectoryName(source);
        while (dir is not null && !File.Exists(Path.Combine(dir, "Twill.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }
        return dir ?? throw new InvalidOperationException($"no Twill.slnx above {source}");
    }
}
