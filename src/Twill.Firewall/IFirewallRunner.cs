namespace Twill.Firewall;

/// <summary>What a firewall tool printed and how it exited.</summary>
public sealed record ToolOutput(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs the firewall tools (iptables-save, iptables-restore, ip6tables-*, nft, conntrack) in one
/// network namespace. Everything that touches the kernel goes through here, so tests can point it
/// at a throw-away namespace and the renderers stay pure.
/// </summary>
public interface IFirewallRunner
{
    /// <summary>Runs <paramref name="tool"/> with <paramref name="args"/>, feeding <paramref name="stdin"/> when given.</summary>
    ToolOutput Run(string tool, IReadOnlyList<string> args, string? stdin = null);

    /// <summary>
    /// Takes the exclusive lock that serialises read-modify-write transactions on this namespace's
    /// rules (a save followed by a restore); parallel CNI ADDs would otherwise both create a
    /// shared chain and the second declaration would flush the first's rules. Not re-entrant:
    /// never take it twice on one runner at the same time.
    /// </summary>
    IDisposable Lock();
}
