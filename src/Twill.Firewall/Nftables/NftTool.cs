using System.Text.Json;

namespace Twill.Firewall.Nftables;

/// <summary>A rule as <c>nft -j list</c> reports it: where it is, its handle and comment.</summary>
public sealed record NftRule(string Family, string Table, string Chain, long Handle, string? Comment);

/// <summary>Runs <c>nft</c>: scripts through <c>nft -f -</c> (one transaction), listings as JSON.</summary>
public static partial class NftTool
{
    /// <summary>Applies the script as one transaction; all of it or none.</summary>
    public static void Apply(IFirewallRunner runner, string script)
    {
        if (script.Length == 0)
        {
            return;
        }
        ToolOutput r = runner.Run("nft", ["-f", "-"], script);
        if (r.ExitCode != 0)
        {
            throw new FirewallException("nft", r.ExitCode, r.Stderr, FailingLine(script, r.Stderr));
        }
    }

    /// <summary>The table's rules, or null when the table does not exist.</summary>
    public static IReadOnlyList<NftRule>? ListRules(IFirewallRunner runner, string family, string table)
    {
        ToolOutput r = runner.Run("nft", ["-j", "list", "table", family, table]);
        if (r.ExitCode != 0)
        {
            if (r.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
            {
                return null;
            }
            throw new FirewallException("nft", r.ExitCode, r.Stderr, null);
        }
        return ParseRules(r.Stdout);
    }

    /// <summary>The table as <c>nft list table</c> prints it, or null when it does not exist.</summary>
    public static string? ListText(IFirewallRunner runner, string family, string table)
    {
        ToolOutput r = runner.Run("nft", ["list", "table", family, table]);
        if (r.ExitCode != 0)
        {
            if (r.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
            {
                return null;
            }
            throw new FirewallException("nft", r.ExitCode, r.Stderr, null);
        }
        return r.Stdout;
    }

    internal static IReadOnlyList<NftRule> ParseRules(string json)
    {
        List<NftRule> rules = [];
        using JsonDocument doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("nftables", out JsonElement items))
        {
            return rules;
        }
        foreach (JsonElement item in items.EnumerateArray())
        {
            if (!item.TryGetProperty("rule", out JsonElement rule))
            {
                continue;
            }
            rules.Add(new NftRule(
                rule.GetProperty("family").GetString() ?? "",
                rule.GetProperty("table").GetString() ?? "",
                rule.GetProperty("chain").GetString() ?? "",
                rule.GetProperty("handle").GetInt64(),
                rule.TryGetProperty("comment", out JsonElement c) ? c.GetString() : null));
        }
        return rules;
    }

    /// <summary>nft reports errors as <c>/dev/stdin:LINE:COL-COL: Error: ...</c>.</summary>
    internal static string? FailingLine(string script, string stderr)
    {
        System.Text.RegularExpressions.Match m = LineColumn().Match(stderr);
        if (!m.Success || !int.TryParse(m.Groups[1].Value, out int n))
        {
            return null;
        }
        string[] lines = script.Split('\n');
        return n >= 1 && n <= lines.Length ? lines[n - 1] : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@":(\d+):\d+")]
    private static partial System.Text.RegularExpressions.Regex LineColumn();

    /// <summary>A string as an nft quoted string.</summary>
    public static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
