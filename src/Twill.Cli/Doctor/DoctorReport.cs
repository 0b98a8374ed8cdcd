using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Twill.Cli.Doctor;

/// <summary>The doctor's output: one line per check (✓ ⚠ ✗, the check, what was seen) with its fix below, or JSON for scripts.</summary>
public static class DoctorReport
{
    private const int NameWidth = 25;

    public static string Mark(Verdict v) => v switch
    {
        Verdict.Ok => "✓",
        Verdict.Warn => "⚠",
        _ => "✗",
    };

    public static string Text(IReadOnlyList<Finding> findings, IReadOnlyList<FixOutcome> fixes)
    {
        StringBuilder sb = new();
        foreach (FixOutcome f in fixes)
        {
            sb.Append(f.Error is null ? "fixed: " : "not fixed: ").Append(f.Check).Append(": ").Append(f.Command);
            if (f.Error is not null)
            {
                sb.Append(": ").Append(f.Error);
            }
            sb.Append('\n');
        }
        if (fixes.Count > 0)
        {
            sb.Append('\n');
        }
        foreach (Finding f in findings)
        {
            sb.Append(Mark(f.Verdict)).Append(' ').Append(f.Check.PadRight(NameWidth)).Append(f.Message).Append('\n');
            if (f.Verdict != Verdict.Ok && f.Fix is not null)
            {
                sb.Append(' ', NameWidth + 2).Append(f.Remedies.Count > 0 ? "fix (--fix does it): " : "fix: ").Append(f.Fix).Append('\n');
            }
        }
        int fail = findings.Count(f => f.Verdict == Verdict.Fail), warn = findings.Count(f => f.Verdict == Verdict.Warn);
        sb.Append(string.Create(CultureInfo.InvariantCulture, $"\n{fail} failed, {warn} warning(s), {findings.Count - fail - warn} ok\n"));
        return sb.ToString();
    }

    public static string Json(IReadOnlyList<Finding> findings, IReadOnlyList<FixOutcome> fixes)
    {
        DoctorJson report = new(
            Name(DoctorChecks.Worst(findings)),
            [.. findings.Select(f => new DoctorJsonCheck(f.Check, Name(f.Verdict), f.Message, f.Verdict == Verdict.Ok ? null : f.Fix, f.Remedies.Count > 0))],
            [.. fixes.Select(f => new DoctorJsonFix(f.Check, f.Command, f.Error))]);
        return JsonSerializer.Serialize(report, DoctorJsonContext.Default.DoctorJson) + "\n";
    }

    private static string Name(Verdict v) => v.ToString().ToLowerInvariant();
}

/// <summary>The JSON of <c>twill doctor --json</c>: the worst verdict ("ok", "warn", "fail"), each check, and what --fix did.</summary>
public sealed record DoctorJson(string Verdict, IReadOnlyList<DoctorJsonCheck> Checks, IReadOnlyList<DoctorJsonFix> Fixed);

/// <summary>One check; <see cref="Fixable"/>: --fix applies its fix.</summary>
public sealed record DoctorJsonCheck(string Check, string Verdict, string Message, string? Fix, bool Fixable);

/// <summary>One remedy --fix applied; <see cref="Error"/> is null when it worked.</summary>
public sealed record DoctorJsonFix(string Check, string Command, string? Error);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(DoctorJson))]
internal sealed partial class DoctorJsonContext : JsonSerializerContext;
