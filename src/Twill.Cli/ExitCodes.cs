namespace Twill.Cli;

/// <summary>The exit codes every <c>twill</c> command shares: scripts tell a usage mistake from a failure.</summary>
internal static class ExitCodes
{
    /// <summary>The work was tried and failed (store unreachable, check failed).</summary>
    public const int Failed = 1;

    /// <summary>The command line or the configuration it names is wrong; nothing was tried.</summary>
    public const int Usage = 2;
}
