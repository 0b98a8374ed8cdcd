namespace Twill.Firewall;

/// <summary>A firewall tool failed; carries what it said and, for a restore, the input line it rejected.</summary>
public sealed class FirewallException : Exception
{
    public FirewallException(string message) : base(message) { Tool = ""; Stderr = ""; }

    public FirewallException(string message, Exception inner) : base(message, inner) { Tool = ""; Stderr = ""; }

    public FirewallException() : this("firewall tool failed") { }

    public FirewallException(string tool, int exitCode, string stderr, string? failingLine)
        : base(Describe(tool, exitCode, stderr, failingLine))
    {
        Tool = tool;
        ExitCode = exitCode;
        Stderr = stderr;
        FailingLine = failingLine;
    }

    /// <summary>The program that failed (e.g. <c>iptables-restore</c>).</summary>
    public string Tool { get; }

    public int ExitCode { get; }

    public string Stderr { get; }

    /// <summary>The first input line the tool rejected, when it said which.</summary>
    public string? FailingLine { get; }

    private static string Describe(string tool, int exitCode, string stderr, string? failingLine)
    {
        string text = $"{tool} exited with {exitCode}: {stderr.Trim()}";
        return failingLine is null ? text : $"{text} (failing input line: {failingLine})";
    }
}
