using System.Globalization;
using Twill.Netlink;
using Twill.Os;

namespace Twill.Cli.Doctor;

/// <summary>One remedy applied by <c>--fix</c>: its command, and why it failed (null: it worked).</summary>
public sealed record FixOutcome(string Check, string Command, string? Error);

/// <summary>
/// Applies the remedies of the findings that are not ok, in the order found (a module before the
/// sysctls it brings). Only what <see cref="Remedy"/> allows: sysctls of this namespace, modprobe
/// (through <see cref="IProcessRunner"/>, so a test sees the command without loading anything),
/// and the files Twill owns.
/// </summary>
public sealed class DoctorFixer(IProcessRunner runner)
{
    public IReadOnlyList<FixOutcome> Apply(IEnumerable<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        List<FixOutcome> outcomes = [];
        foreach (Finding finding in findings.Where(f => f.Verdict != Verdict.Ok))
        {
            foreach (Remedy remedy in finding.Remedies)
            {
                string? error = null;
                try
                {
                    Apply(remedy);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ProcessStartException or TimeoutException or InvalidOperationException)
                {
                    error = e.Message;
                }
                outcomes.Add(new FixOutcome(finding.Check, remedy.Command, error));
            }
        }
        return outcomes;
    }

    private void Apply(Remedy remedy)
    {
        switch (remedy)
        {
            case SetSysctl s:
                Sysctl.Write(null, DoctorChecks.SysctlPath(s.Key), s.Value);
                break;
            case LoadModule m:
                ProcessResult r = runner.Run(new ProcessSpec("modprobe", [m.Module]) { Timeout = TimeSpan.FromSeconds(30) });
                if (r.ExitCode != 0)
                {
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"modprobe exited {r.ExitCode}: {r.StderrText.Trim()}"));
                }
                break;
            case WriteOwnedFile w:
                WriteThenRename(w.Path, tmp => File.WriteAllText(tmp, w.Content));
                break;
            case InstallPlugins p:
                Directory.CreateDirectory(p.To);
                foreach (string name in p.Names)
                {
                    WriteThenRename(Path.Combine(p.To, name), tmp => File.Copy(Path.Combine(p.From, name), tmp, overwrite: true));
                }
                break;
            default:
                throw new InvalidOperationException($"no way to apply {remedy.GetType().Name}");
        }
    }

    /// <summary>Writes beside the target and renames onto it, so a reader (the kubelet, the CNI plugin) never sees half a file.</summary>
    private static void WriteThenRename(string path, Action<string> write)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.twill-new");
        try
        {
            write(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
    }
}
