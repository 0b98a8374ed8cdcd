using System.Text.RegularExpressions;

namespace Twill.Firewall.Iptables;

/// <summary>The two iptables processes we ever run: one save to read, one restore to write.</summary>
public static partial class IptablesTool
{
    /// <summary>Dumps one table (or all with <paramref name="table"/> null) of the family.</summary>
    public static SavedRuleset Save(IFirewallRunner runner, IpFamily family, string? table)
    {
        string tool = family.SaveTool();
        ToolOutput r = runner.Run(tool, table is null ? [] : ["-t", table]);
        if (r.ExitCode != 0)
        {
            throw new FirewallException(tool, r.ExitCode, r.Stderr, null);
        }
        return SavedRuleset.Parse(r.Stdout);
    }

    /// <summary>
    /// Whether the family's tables can be read at all; DEL treats an unusable family as having
    /// nothing to delete (a node without IPv6), as the reference does.
    /// </summary>
    public static SavedRuleset? TrySave(IFirewallRunner runner, IpFamily family, string? table)
    {
        try
        {
            return Save(runner, family, table);
        }
        catch (FirewallException)
        {
            return null;
        }
    }

    /// <summary>
    /// Applies <paramref name="script"/> with <c>iptables-restore --noflush</c>: all of a table's
    /// changes commit together or not at all. A failure names the tool's message and the input
    /// line it rejected.
    /// </summary>
    public static void Restore(IFirewallRunner runner, IpFamily family, string script)
    {
        if (script.Length == 0)
        {
            return;
        }
        string tool = family.RestoreTool();
        ToolOutput r = runner.Run(tool, ["--noflush", "-w"], script);
        if (r.ExitCode != 0)
        {
            throw new FirewallException(tool, r.ExitCode, r.Stderr, FailingLine(script, r.Stderr));
        }
    }

    /// <summary>
    /// Applies a script planned without a dump (one process instead of a save and a restore), under
    /// the namespace lock so it never lands between another transaction's dump and restore. False
    /// when the tool rejected it (a line's assumption did not hold: nothing was applied, the commit
    /// being atomic) or could not run; the caller then falls back to <see cref="Transact"/>.
    /// </summary>
    public static bool TryRestore(IFirewallRunner runner, IpFamily family, string script)
    {
        using IDisposable held = runner.Lock();
        try
        {
            return runner.Run(family.RestoreTool(), ["--noflush", "-w"], script).ExitCode == 0;
        }
        catch (FirewallException)
        {
            return false;
        }
    }

    /// <summary>
    /// One read-modify-write under the namespace lock: dump <paramref name="table"/>, plan the change
    /// from what is there, apply it in one restore. Another program (kube-proxy, the reference
    /// plugin) may change the table between our dump and our restore, making a planned <c>-D</c> or
    /// declaration invalid; the whole restore is then rejected, so we dump and plan again (3 tries).
    /// Returns the script applied, empty when nothing had to change.
    /// </summary>
    /// <param name="optional">A family whose tables cannot be read is skipped (returns null) instead of failing.</param>
    public static string? Transact(IFirewallRunner runner, IpFamily family, string? table, Func<SavedRuleset, string> plan, bool optional = false)
    {
        using IDisposable held = runner.Lock();
        for (int attempt = 1; ; attempt++)
        {
            SavedRuleset? saved = optional ? TrySave(runner, family, table) : Save(runner, family, table);
            if (saved is null)
            {
                return null;
            }
            string script = plan(saved);
            try
            {
                Restore(runner, family, script);
                return script;
            }
            catch (FirewallException) when (attempt < 3)
            {
                // Planned against a dump that is no longer current: read again.
            }
        }
    }

    /// <summary>Applies several table edits in one restore process.</summary>
    public static void Restore(IFirewallRunner runner, IpFamily family, IEnumerable<TableEdit> edits) =>
        Restore(runner, family, string.Concat(edits.Select(e => e.Render())));

    /// <summary>The input line a restore error points at ("line N failed", "Error occurred at line: N").</summary>
    internal static string? FailingLine(string script, string stderr)
    {
        Match m = LineNumber().Match(stderr);
        if (!m.Success || !int.TryParse(m.Groups[1].Value, out int n))
        {
            return null;
        }
        string[] lines = script.Split('\n');
        return n >= 1 && n <= lines.Length ? lines[n - 1] : null;
    }

    [GeneratedRegex(@"line:? (\d+)")]
    private static partial Regex LineNumber();
}
