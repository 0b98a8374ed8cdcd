namespace Twill.Cli.Doctor;

/// <summary>How a check came out; the exit code of <c>twill doctor</c> is the worst one (0, 1, 2).</summary>
public enum Verdict
{
    /// <summary>✓ nothing to do.</summary>
    Ok = 0,

    /// <summary>⚠ works for now, or may not: worth a look.</summary>
    Warn = 1,

    /// <summary>✗ pods will not start or not talk until it is fixed.</summary>
    Fail = 2,
}

/// <summary>
/// One check's outcome: what was seen, and when it is not ok the exact command that fixes it.
/// <see cref="Remedies"/> are the fixes <c>--fix</c> may apply itself (sysctls, modules, files Twill
/// owns); a finding without remedies needs a person, and its <see cref="Fix"/> says what to do.
/// </summary>
public sealed record Finding(string Check, Verdict Verdict, string Message)
{
    /// <summary>The fix as a person types it; the remedies' commands when there are remedies.</summary>
    public string? Fix { get; init; }

    /// <summary>What <c>--fix</c> does about it, in order.</summary>
    public IReadOnlyList<Remedy> Remedies { get; init; } = [];

    public static Finding Ok(string check, string message) => new(check, Verdict.Ok, message);

    /// <summary>A finding whose fix is what --fix applies: the fix text is the remedies' commands, so the two never differ.</summary>
    public static Finding Fixable(string check, Verdict verdict, string message, params Remedy[] remedies) =>
        new(check, verdict, message) { Remedies = remedies, Fix = string.Join(" && ", remedies.Select(r => r.Command)) };

    public static Finding Manual(string check, Verdict verdict, string message, string fix) =>
        new(check, verdict, message) { Fix = fix };
}

/// <summary>A fix safe enough for <c>--fix</c> to apply: it changes only this node, and only what the pod network needs.</summary>
public abstract record Remedy
{
    /// <summary>The equivalent command, as printed and as a person would run it.</summary>
    public abstract string Command { get; }
}

/// <summary><c>sysctl -w KEY=VALUE</c>; <see cref="Key"/> in sysctl(8)'s spelling (an interface's dots written '/').</summary>
public sealed record SetSysctl(string Key, string Value) : Remedy
{
    public override string Command => $"sysctl -w {Key}={Value}";
}

/// <summary><c>modprobe MODULE</c>.</summary>
public sealed record LoadModule(string Module) : Remedy
{
    public override string Command => $"modprobe {Module}";
}

/// <summary>Writes a file Twill owns (subnet.env, its conflist), atomically: the CNI plugin or the kubelet never reads half of it.</summary>
public sealed record WriteOwnedFile(string Path, string Content, string What) : Remedy
{
    public override string Command => $"write {Path} ({What})";
}

/// <summary>Copies Twill's own CNI plugins that are missing into the runtime's plugin directory (what the DaemonSet's init container does).</summary>
public sealed record InstallPlugins(string From, string To, IReadOnlyList<string> Names) : Remedy
{
    public override string Command => $"cp {string.Join(' ', Names.Select(n => From.TrimEnd('/') + "/" + n))} {To.TrimEnd('/')}/";
}
