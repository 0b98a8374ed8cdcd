using System.Text;

namespace Twill.Os;

/// <summary>A child process to run to completion: no shell, so arguments are never re-split.</summary>
/// <param name="File">The program; without a slash it is looked up in PATH.</param>
/// <param name="Arguments">argv[1..].</param>
public sealed record ProcessSpec(string File, IReadOnlyList<string> Arguments)
{
    /// <summary>Fed on the child's stdin (then end of file); null: an empty stdin.</summary>
    public byte[]? Stdin { get; init; }

    /// <summary>The child's whole environment; null: this process's own.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Set on top of <see cref="Environment"/> (e.g. LC_ALL=C so tools' messages stay parseable).</summary>
    public IReadOnlyDictionary<string, string>? Overrides { get; init; }

    /// <summary>False: the child writes to this process's stderr, as CNI delegates do.</summary>
    public bool CaptureStderr { get; init; } = true;

    /// <summary>Null: wait as long as it takes. Otherwise killed (SIGKILL) and <see cref="TimeoutException"/> thrown.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The environment the child gets: <see cref="Environment"/> (or ours) with <see cref="Overrides"/>.</summary>
    public IReadOnlyDictionary<string, string> EffectiveEnvironment()
    {
        Dictionary<string, string> env = new(StringComparer.Ordinal);
        if (Environment is not null)
        {
            foreach ((string k, string v) in Environment)
            {
                env[k] = v;
            }
        }
        else
        {
            foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            {
                env[(string)e.Key] = (string?)e.Value ?? "";
            }
        }
        if (Overrides is not null)
        {
            foreach ((string k, string v) in Overrides)
            {
                env[k] = v;
            }
        }
        return env;
    }
}

/// <summary>How a child exited and what it wrote. A child killed by signal N exits 128 + N, as a shell reports it.</summary>
public sealed record ProcessResult(int ExitCode, byte[] Stdout, byte[] Stderr)
{
    public string StdoutText => Encoding.UTF8.GetString(Stdout);

    public string StderrText => Encoding.UTF8.GetString(Stderr);
}

/// <summary>
/// Runs child processes to completion. Two implementations: <see cref="ManagedProcessRunner"/>
/// (System.Diagnostics.Process, for long-lived processes: the agent, the lab, tests) and
/// <see cref="SpawnProcessRunner"/> (posix_spawn, for the short-lived CNI plugin process).
/// </summary>
public interface IProcessRunner
{
    /// <summary>Starts <paramref name="spec"/>, feeds its stdin, waits for it to exit.</summary>
    /// <exception cref="ProcessStartException">The program could not be started (not found, not executable).</exception>
    /// <exception cref="TimeoutException">It outlived <see cref="ProcessSpec.Timeout"/> (it has been killed).</exception>
    ProcessResult Run(ProcessSpec spec);
}

/// <summary>A child process could not be started; the message names the program and says why.</summary>
public sealed class ProcessStartException : Exception
{
    public ProcessStartException(string file, string reason, Exception? innerException = null)
        : base($"could not start {file}: {reason}", innerException)
    {
        File = file;
        Reason = reason;
    }

    public ProcessStartException()
    {
        File = "";
        Reason = "";
    }

    public ProcessStartException(string message) : base(message)
    {
        File = "";
        Reason = message;
    }

    public ProcessStartException(string message, Exception innerException) : base(message, innerException)
    {
        File = "";
        Reason = message;
    }

    public string File { get; }

    /// <summary>Why, e.g. strerror(ENOENT).</summary>
    public string Reason { get; }
}
