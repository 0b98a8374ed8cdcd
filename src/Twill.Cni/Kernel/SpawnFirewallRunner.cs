using System.Runtime.InteropServices;
using System.Text;
using Twill.Firewall;

namespace Twill.Cni.Kernel;

/// <summary>
/// Runs the firewall tools (iptables-restore, iptables-save, conntrack) for a plugin process with
/// posix_spawn, the child's stdin, stdout and stderr being memfds. Same effect as
/// <see cref="ProcessFirewallRunner"/>'s System.Diagnostics.Process, without what that costs a
/// process that lives for one call: a SIGCHLD thread, thread-pool threads for the asynchronous
/// reads, and a hand-off between threads for every tool run (each a scheduling delay on a busy
/// node). Files instead of pipes: the child never blocks on a full pipe, so one blocking waitpid
/// is all the waiting there is.
/// </summary>
internal sealed class SpawnFirewallRunner : ProcessFirewallRunner
{
    public override ToolOutput Run(string tool, IReadOnlyList<string> args, string? stdin = null) =>
        Spawn.Run(tool, args, stdin);
}

/// <summary>posix_spawnp with memfd-backed standard streams, waited for synchronously.</summary>
internal static unsafe partial class Spawn
{
    private const uint MfdCloexec = 1;
    private const short PosixSpawnSetSigDef = 0x04;
    private const short PosixSpawnSetSigMask = 0x08;
    private const int SeekSet = 0;
    private const int SeekEnd = 2;
    private const int Eintr = 4;

    public static ToolOutput Run(string file, IReadOnlyList<string> args, string? stdin)
    {
        int inFd = -1, outFd = -1, errFd = -1;
        List<nint> strings = [];
        try
        {
            inFd = MemFd("stdin");
            outFd = MemFd("stdout");
            errFd = MemFd("stderr");
            if (stdin is not null)
            {
                WriteAll(inFd, Encoding.UTF8.GetBytes(stdin));
                _ = lseek(inFd, 0, SeekSet);
            }

            byte** argv = (byte**)NativeMemory.AllocZeroed((nuint)(args.Count + 2), (nuint)sizeof(nint));
            strings.Add((nint)argv);
            argv[0] = Utf8(file, strings);
            for (int i = 0; i < args.Count; i++)
            {
                argv[i + 1] = Utf8(args[i], strings);
            }
            // The caller's environment, with the C locale so the tools' messages stay parseable.
            List<string> env = [];
            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            {
                if ((string)e.Key != "LC_ALL")
                {
                    env.Add($"{e.Key}={e.Value}");
                }
            }
            env.Add("LC_ALL=C");
            byte** envp = (byte**)NativeMemory.AllocZeroed((nuint)(env.Count + 1), (nuint)sizeof(nint));
            strings.Add((nint)envp);
            for (int i = 0; i < env.Count; i++)
            {
                envp[i] = Utf8(env[i], strings);
            }

            // glibc's posix_spawn_file_actions_t (80 bytes), posix_spawnattr_t (336) and sigset_t (128)
            // fit with room to spare; ulong keeps them 8-byte aligned.
            ulong* actions = stackalloc ulong[64];
            ulong* attr = stackalloc ulong[128];
            ulong* sigs = stackalloc ulong[32];
            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            Check(posix_spawnattr_init(attr), "posix_spawnattr_init");
            int pid;
            int rc;
            try
            {
                Check(posix_spawn_file_actions_adddup2(actions, inFd, 0), "adddup2 stdin");
                Check(posix_spawn_file_actions_adddup2(actions, outFd, 1), "adddup2 stdout");
                Check(posix_spawn_file_actions_adddup2(actions, errFd, 2), "adddup2 stderr");
                // The runtime ignores SIGPIPE and may block signals; the tool starts with defaults, as
                // Process starts it.
                _ = sigfillset(sigs);
                Check(posix_spawnattr_setsigdefault(attr, sigs), "posix_spawnattr_setsigdefault");
                _ = sigemptyset(sigs);
                Check(posix_spawnattr_setsigmask(attr, sigs), "posix_spawnattr_setsigmask");
                Check(posix_spawnattr_setflags(attr, PosixSpawnSetSigDef | PosixSpawnSetSigMask), "posix_spawnattr_setflags");
                rc = posix_spawnp(&pid, argv[0], actions, attr, argv, envp);
            }
            finally
            {
                _ = posix_spawn_file_actions_destroy(actions);
                _ = posix_spawnattr_destroy(attr);
            }
            if (rc != 0)
            {
                throw new FirewallException($"could not start {file}: {Marshal.GetPInvokeErrorMessage(rc)} (is it installed?)");
            }
            int status;
            while (waitpid(pid, &status, 0) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Eintr)
                {
                    throw new FirewallException($"waiting for {file} (pid {pid}) failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
            }
            // WIFEXITED: the exit status; killed by a signal: 128 + signal, as a shell reports it.
            int exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            return new ToolOutput(exitCode, ReadAll(outFd), ReadAll(errFd));
        }
        finally
        {
            foreach (nint p in strings)
            {
                NativeMemory.Free((void*)p);
            }
            foreach (int fd in new[] { inFd, outFd, errFd })
            {
                if (fd >= 0)
                {
                    _ = close(fd);
                }
            }
        }
    }

    private static int MemFd(string name)
    {
        int fd = memfd_create(name, MfdCloexec);
        return fd >= 0 ? fd : throw new FirewallException($"memfd_create failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    private static byte* Utf8(string s, List<nint> owned)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        owned.Add((nint)p);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    private static void WriteAll(int fd, byte[] data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint w = write(fd, p + done, data.Length - done);
                if (w < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Eintr)
                    {
                        continue;
                    }
                    throw new FirewallException($"writing a tool's input failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
                done += (int)w;
            }
        }
    }

    /// <summary>What the child wrote: the memfd's whole content (the child moved the shared offset, not us).</summary>
    private static string ReadAll(int fd)
    {
        long size = lseek(fd, 0, SeekEnd);
        if (size <= 0)
        {
            return "";
        }
        byte[] buf = new byte[size];
        fixed (byte* p = buf)
        {
            long done = 0;
            while (done < size)
            {
                nint r = pread(fd, p + done, (nint)(size - done), done);
                if (r < 0 && Marshal.GetLastPInvokeError() == Eintr)
                {
                    continue;
                }
                if (r <= 0)
                {
                    break;
                }
                done += r;
            }
            return Encoding.UTF8.GetString(buf, 0, (int)done);
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
        {
            throw new FirewallException($"{what} failed: {Marshal.GetPInvokeErrorMessage(rc)}");
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int memfd_create(string name, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint pread(int fd, byte* buf, nint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    private static partial int posix_spawnp(int* pid, byte* file, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newFd);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(void* attr);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport("libc")]
    private static partial int sigfillset(void* set);

    [LibraryImport("libc")]
    private static partial int sigemptyset(void* set);
}
