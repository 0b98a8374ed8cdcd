using System.Text;

namespace Twill.Drills;

/// <summary>One line of the drill table: what was done, the figure it had to reach, what it reached.</summary>
/// <param name="Detail">What the drill saw beyond the figure (shown under the table when it failed).</param>
public sealed record DrillResult(string Drill, string Target, string Measured, bool Pass, string Detail = "")
{
    public static DrillResult Failed(string drill, string target, Exception e) =>
        new(drill, target, "error: " + e.Message.Split('\n')[0], false, e.ToString());
}

/// <summary>The table <c>make drills</c> ends with: drill, target, measured, pass.</summary>
public static class DrillTable
{
    public static string Format(IReadOnlyList<DrillResult> results)
    {
        string[] head = ["drill", "target", "measured", "pass"];
        List<string[]> rows = [.. results.Select(r => new[] { r.Drill, r.Target, r.Measured, r.Pass ? "yes" : "NO" })];
        int[] width = [.. Enumerable.Range(0, head.Length).Select(c => rows.Select(r => r[c].Length).Append(head[c].Length).Max())];
        StringBuilder sb = new();
        void Line(string[] cells) => sb.AppendLine(string.Join("  ", cells.Select((c, i) => c.PadRight(width[i]))).TrimEnd());
        Line(head);
        Line([.. width.Select(w => new string('-', w))]);
        foreach (string[] r in rows)
        {
            Line(r);
        }
        int passed = results.Count(r => r.Pass);
        sb.AppendLine($"{passed}/{results.Count} drills passed");
        return sb.ToString();
    }
}
