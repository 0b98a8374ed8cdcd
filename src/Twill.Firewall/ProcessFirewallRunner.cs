using System.Text;
using Twill.Os;

namespace Twill.Firewall;

/// <summary>
/// Runs the firewall tools as child processes in the caller's network namespace (the CNI plugin
/// and the agent already run in the node's namespace), through an <see cref="IProcessRunner"/>:
/// System.Diagnostics.Process by default, posix_spawn in the CNI plugin process.
/// </summary>
public class ProcessFirewallRunner : IFirewallRunner
{
    /// <summary>C locale: tools' messages and number formats stay parseable.</summary>
    private static readonly Dictionary<string, string> CLocale = new(StringComparer.Ordinal) { ["LC_ALL"] = "C" };

    private readonly string _lockPath;
    private readonly IProcessRunner _processes;

    /// <param name="lockPath">File whose flock serialises our transactions in this namespace.</param>
    /// <param name="runner">How the tools are started; null: <see cref="ManagedProcessRunner"/>.</param>
    public ProcessFirewallRunner(string lockPath = "/run/twill/firewall.lock", IProcessRunner? runner = null)
    {
        _lockPath = lockPath;
        _processes = runner ?? ManagedProcessRunner.Instance;
    }

    public virtual ToolOutput Run(string tool, IReadOnlyList<string> args, string? stdin = null) =>
        Exec(tool, args, stdin);

    public IDisposable Lock()
    {
        string? dir = Path.GetDirectoryName(_lockPath);
        if (!string.IsNullOrEmpty(dir))
        {
            PrivateFiles.CreateDirectory(dir);
        }
        try
        {
            return FileLock.Acquire(_lockPath, (int)PrivateFiles.FileMode);
        }
        catch (OsException e)
        {
            throw new FirewallException($"{e.Operation} {_lockPath} failed with errno {e.Errno}");
        }
    }

    /// <summary>Starts <paramref name="file"/> directly (no shell), so arguments are never re-split.</summary>
    protected ToolOutput Exec(string file, IReadOnlyList<string> args, string? stdin)
    {
        ProcessResult r;
        try
        {
            r = _processes.Run(new ProcessSpec(file, args)
            {
                Stdin = stdin is null ? null : Encoding.UTF8.GetBytes(stdin),
                Overrides = CLocale,
            });
        }
        catch (ProcessStartException e)
        {
            throw new FirewallException($"could not start {file}: {e.Reason} (is it installed?)", e);
        }
        catch (OsException e)
        {
            throw new FirewallException(e.Message, e);
        }
        return new ToolOutput(r.ExitCode, r.StdoutText, r.StderrText);
    }
}

/// <summary>
/// Runs the tools inside the namespace bound at <see cref="NetnsPath"/> through
/// <see cref="Nsenter"/>. Tests use it so no rule ever lands in the root namespace.
/// </summary>
public sealed class NsenterFirewallRunner : ProcessFirewallRunner
{
    /// <param name="netnsPath">The namespace file, e.g. <c>/var/run/netns/NAME</c>.</param>
    /// <param name="lockPath">
    /// Defaults to one lock shared by every nsenter runner: it serialises more than needed, but
    /// leaves no lock file behind per throw-away namespace.
    /// </param>
    public NsenterFirewallRunner(string netnsPath, string lockPath = "/run/twill/firewall-nsenter.lock")
        : base(lockPath)
    {
        NetnsPath = netnsPath;
    }

    /// <summary>The namespace file, e.g. <c>/var/run/netns/NAME</c>.</summary>
    public string NetnsPath { get; }

    public override ToolOutput Run(string tool, IReadOnlyList<string> args, string? stdin = null)
    {
        string[] argv = Nsenter.Net(NetnsPath, [tool, .. args]);
        return Exec(argv[0], argv[1..], stdin);
    }
}
