using System.Diagnostics;

namespace Twill.Cli.Tests;

/// <summary>
/// A running <c>twill tor routes --watch</c> (or any long-running twill command): its stdout lines as
/// they come, optionally each handed to <paramref name="onLine"/>; Dispose stops it by its own PID.
/// </summary>
internal sealed class TorWatchProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<string> _errors = [];

    public TorWatchProcess(IEnumerable<string> args, Action<string>? onLine = null)
    {
        ProcessStartInfo psi = new(TwillBinary.Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (_lines)
            {
                _lines.Add(e.Data);
            }
            onLine?.Invoke(e.Data);
        };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_errors) { _errors.Add(e.Data); } } };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string[] Lines { get { lock (_lines) { return [.. _lines]; } } }

    public string Stderr { get { lock (_errors) { return string.Join('\n', _errors); } } }

    /// <summary>Waits until at least <paramref name="count"/> lines came; fails naming what did come (and stderr) after <paramref name="timeout"/>.</summary>
    public string[] WaitForLines(int count, TimeSpan timeout)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (Lines.Length < count)
        {
            if (clock.Elapsed > timeout || _process.HasExited)
            {
                throw new TimeoutException($"{count} line(s) not printed within {timeout.TotalSeconds} s (exited: {_process.HasExited}); got:\n{string.Join('\n', Lines)}\nstderr:\n{Stderr}");
            }
            Thread.Sleep(50);
        }
        return Lines;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited in between.
        }
        _process.Dispose();
    }
}
