using System.Text;
using Xunit.Sdk;

namespace Twill.Cni.Conformance.Harness;

/// <summary>
/// Runs a scenario twice, in two fresh node namespaces, once with the reference plugins and once
/// with ours (in parallel: they share nothing), and fails with a line diff when the transcripts
/// differ in meaning.
/// </summary>
public static class Oracle
{
    /// <summary>Lines starting with this are context for a human, not part of the comparison.</summary>
    private const string Aside = "    ~ ";

    public static void Compare(string[] ourTypes, Action<Run> scenario) =>
        Compare(ourTypes, ourTypes.Where(t => t != "flannel").ToArray(), scenario);

    public static void Compare(string[] ourTypes, string[] referenceTypes, Action<Run> scenario)
    {
        PluginDirs.EnsurePresent(PluginSet.Ours, ourTypes);
        PluginDirs.EnsurePresent(PluginSet.Reference, referenceTypes);
        Task<IReadOnlyList<string>> reference = Task.Factory.StartNew(() => Transcript(PluginSet.Reference, scenario), TaskCreationOptions.LongRunning);
        Task<IReadOnlyList<string>> ours = Task.Factory.StartNew(() => Transcript(PluginSet.Ours, scenario), TaskCreationOptions.LongRunning);
        IReadOnlyList<string> r = reference.GetAwaiter().GetResult();
        IReadOnlyList<string> o = ours.GetAwaiter().GetResult();
        if (r.Any(l => l.StartsWith("EXCEPTION", StringComparison.Ordinal)))
        {
            throw new XunitException("the scenario failed against the REFERENCE plugins (a test bug, or the machine):\n" + string.Join('\n', r));
        }
        string? diff = Diff(r, o);
        if (diff is not null)
        {
            throw new XunitException($"ours differs from the reference 1.1.1 (- reference, + ours; '~' lines are not compared):\n{diff}");
        }
    }

    /// <summary>A scenario against one set only (ours against the spec where the reference cannot say).</summary>
    public static IReadOnlyList<string> Single(PluginSet set, string[] types, Action<Run> scenario)
    {
        PluginDirs.EnsurePresent(set, types);
        using Run run = new(set);
        scenario(run);
        return run.Lines;
    }

    public static IReadOnlyList<string> Transcript(PluginSet set, Action<Run> scenario)
    {
        using Run run = new(set);
        try
        {
            scenario(run);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.Text.Json.JsonException or NullReferenceException or KeyNotFoundException or XunitException)
        {
            run.Note($"EXCEPTION {e.GetType().Name}: {e.Message}");
        }
        return run.Lines;
    }

    /// <summary>A line diff (longest common subsequence over compared lines), or null when equal.</summary>
    public static string? Diff(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        static bool Compared(string l) => !l.StartsWith(Aside, StringComparison.Ordinal);
        List<string> x = [.. a.Where(Compared)];
        List<string> y = [.. b.Where(Compared)];
        if (x.SequenceEqual(y))
        {
            return null;
        }
        int[,] lcs = new int[x.Count + 1, y.Count + 1];
        for (int i = x.Count - 1; i >= 0; i--)
        {
            for (int j = y.Count - 1; j >= 0; j--)
            {
                lcs[i, j] = x[i] == y[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }
        List<(char Tag, string Line)> ops = [];
        int p = 0, q = 0;
        while (p < x.Count || q < y.Count)
        {
            if (p < x.Count && q < y.Count && x[p] == y[q])
            {
                ops.Add((' ', x[p++]));
                q++;
            }
            else if (q < y.Count && (p == x.Count || lcs[p, q + 1] >= lcs[p + 1, q]))
            {
                ops.Add(('+', y[q++]));
            }
            else
            {
                ops.Add(('-', x[p++]));
            }
        }
        // Show changes with 3 lines of context, at most 120 lines.
        StringBuilder sb = new();
        int shown = 0;
        for (int i = 0; i < ops.Count && shown < 120; i++)
        {
            bool near = false;
            for (int k = Math.Max(0, i - 3); k <= Math.Min(ops.Count - 1, i + 3) && !near; k++)
            {
                near = ops[k].Tag != ' ';
            }
            if (near)
            {
                sb.Append(ops[i].Tag).Append(' ').AppendLine(ops[i].Line);
                shown++;
            }
            else if (sb.Length > 0 && !sb.ToString().EndsWith("...\n", StringComparison.Ordinal))
            {
                sb.AppendLine("...");
            }
        }
        // The asides of our run explain the errors it printed.
        List<string> asides = [.. b.Where(l => !Compared(l)).Take(10)];
        if (asides.Count > 0)
        {
            sb.AppendLine("our error messages:").AppendJoin('\n', asides);
        }
        return sb.ToString();
    }
}
