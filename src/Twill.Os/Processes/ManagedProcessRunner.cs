using System.ComponentModel;
using System.Diagnostics;

namespace Twill.Os;

/// <summary><see cref="IProcessRunner"/> with System.Diagnostics.Process: stdout and stderr read concurrently, so a chatty child never blocks on a full pipe.</summary>
public sealed class ManagedProcessRunner : IProcessRunner
{
    public static readonly ManagedProcessRunner Instance = new();

    public ProcessResult Run(ProcessSpec spec)
    {
        ProcessStartInfo psi = new(spec.File)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = spec.CaptureStderr,
            UseShellExecute = false,
        };
        foreach (string a in spec.Arguments)
        {
            psi.ArgumentList.Add(a);
        }
        if (spec.Environment is not null)
        {
            psi.Environment.Clear();
            foreach ((string k, string v) in spec.Environment)
            {
                psi.Environment[k] = v;
            }
        }
        if (spec.Overrides is not null)
        {
            foreach ((string k, string v) in spec.Overrides)
            {
                psi.Environment[k] = v;
            }
        }
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new ProcessStartException(spec.File, "no process");
        }
        catch (Win32Exception e)
        {
            throw new ProcessStartException(spec.File, e.Message, e);
        }
        using (p)
        {
            Task<byte[]> stdout = ReadAllAsync(p.StandardOutput.BaseStream);
            Task<byte[]> stderr = spec.CaptureStderr ? ReadAllAsync(p.StandardError.BaseStream) : Task.FromResult(Array.Empty<byte>());
            if (spec.Stdin is not null)
            {
                p.StandardInput.BaseStream.Write(spec.Stdin);
            }
            p.StandardInput.Close();
            if (spec.Timeout is { } timeout && !p.WaitForExit(timeout))
            {
                p.Kill();
                p.WaitForExit();
                throw new TimeoutException($"{spec.File} did not exit within {timeout.TotalSeconds:0.#} s");
            }
            p.WaitForExit();
            return new ProcessResult(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream s)
    {
        using MemoryStream ms = new();
        await s.CopyToAsync(ms).ConfigureAwait(false);
        return ms.ToArray();
    }
}
