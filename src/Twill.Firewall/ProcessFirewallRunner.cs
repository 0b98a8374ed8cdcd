using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Twill.Firewall;

/// <summary>
/// Runs the firewall tools as child processes in the caller's network namespace (the CNI plugin
/// and the agent already run in the node's namespace).
/// </summary>
public class ProcessFirewallRunner : IFirewallRunner
{
    private readonly string _lockPath;

    /// <param name="lockPath">File whose flock serialises our transactions in this namespace.</param>
    public ProcessFirewallRunner(string lockPath = "/run/twill/firewall.lock")
    {
        _lockPath = lockPath;
    }

    public virtual ToolOutput Run(string tool, IReadOnlyList<string> args, string? stdin = null) =>
        Exec(tool, args, stdin);

    public IDisposable Lock() => FileLock.Acquire(_lockPath);

    /// <summary>Starts <paramref name="file"/> directly (no shell), so arguments are never re-split.</summary>
    protected static ToolOutput Exec(string file, IEnumerable<string> args, string? stdin)
    {
        ProcessStartInfo psi = new(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // C locale: tools' messages and number formats stay parseable.
        psi.Environment["LC_ALL"] = "C";
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new FirewallException($"could not start {file}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FirewallException($"could not start {file}: {e.Message} (is it installed?)", e);
        }
        using (p)
        {
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            if (stdin is not null)
            {
                p.StandardInput.Write(stdin);
            }
            p.StandardInput.Close();
            p.WaitForExit();
            return new ToolOutput(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
        }
    }
}

/// <summary>
/// Runs the tools inside the namespace bound at <see cref="NetnsPath"/> through
/// <c>nsenter --net=PATH</c>. Tests use it so no rule ever lands in the root namespace.
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

    public override ToolOutput Run(string tool, IReadOnlyList<string> args, string? stdin = null) =>
        Exec("nsenter", ["--net=" + NetnsPath, "--", tool, .. args], stdin);
}

/// <summary>An exclusive <c>flock(2)</c> held until disposed; released by the kernel if the process dies.</summary>
/// <remarks>
/// Opened with libc directly: a .NET FileStream takes its own non-blocking advisory lock, which
/// would fail instead of wait while another holder has the file.
/// </remarks>
internal sealed partial class FileLock : IDisposable
{
    private const int LockExclusive = 2;
    private const int OpenReadWriteCreateCloexec = 0x2 | 0x40 | 0x80000; // O_RDWR | O_CREAT | O_CLOEXEC
    private const int Eintr = 4;
    private int _fd;

    private FileLock(int fd) => _fd = fd;

    public static FileLock Acquire(string path)
    {
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        int fd = Open(path, OpenReadWriteCreateCloexec, 0x180); // 0600
        if (fd < 0)
        {
            throw new FirewallException($"open {path} failed with errno {Marshal.GetLastPInvokeError()}");
        }
        while (Flock(fd, LockExclusive) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Eintr)
            {
                _ = Close(fd);
                throw new FirewallException($"flock {path} failed with errno {errno}");
            }
        }
        return new FileLock(fd);
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            // Closing the last descriptor releases the lock.
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);
}
