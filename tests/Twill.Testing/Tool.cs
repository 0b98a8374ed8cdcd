using System.Diagnostics;
using System.Text;

namespace Twill.Testing;

/// <summary>Runs a command-line tool (ip, bridge, iptables-save, ...) and returns what it printed.</summary>
public static class Tool
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public Result EnsureSuccess(string what)
        {
            if (ExitCode != 0)
            {
                throw new InvalidOperationException($"{what} exited with {ExitCode}: {Stderr.Trim()} {Stdout.Trim()}");
            }
            return this;
        }
    }

    public static Result Run(string file, params string[] args) => Run(file, args, stdin: null);

    public static Result Run(string file, IEnumerable<string> args, string? stdin, TimeSpan? timeout = null)
    {
        ProcessStartInfo psi = new(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        StringBuilder err = new();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (err) { err.AppendLine(e.Data); } } };
        p.BeginErrorReadLine();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish");
        }
        p.WaitForExit();
        lock (err)
        {
            return new Result(p.ExitCode, stdout.GetAwaiter().GetResult(), err.ToString());
        }
    }

    /// <summary>Runs and throws, with the tool's stderr, when it fails.</summary>
    public static string Check(string file, params string[] args) =>
        Run(file, args).EnsureSuccess($"{file} {string.Join(' ', args)}").Stdout;
}
