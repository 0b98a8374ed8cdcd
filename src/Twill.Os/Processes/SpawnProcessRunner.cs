using System.Text;
using Twill.Os.Interop;

namespace Twill.Os;

/// <summary>
/// <see cref="IProcessRunner"/> with posix_spawnp, the child's stdin, stdout and stderr being
/// memfds, waited for with waitpid. Same effect as <see cref="ManagedProcessRunner"/> without what
/// System.Diagnostics.Process costs a process that lives for one call: a SIGCHLD thread,
/// thread-pool threads for the asynchronous reads, and a hand-off between threads for every run
/// (each a scheduling delay on a busy node). Files instead of pipes: the child never blocks on a
/// full pipe, so one blocking waitpid is all the waiting there is. Starts no thread, so it is safe
/// in the CNI plugin process.
/// </summary>
public sealed unsafe class SpawnProcessRunner : IProcessRunner
{
    public static readonly SpawnProcessRunner Instance = new();

    private const int WNoHang = 1;

    public ProcessResult Run(ProcessSpec spec)
    {
        using FileDescriptor inFd = FileDescriptor.CreateMemory("stdin");
        using FileDescriptor outFd = FileDescriptor.CreateMemory("stdout");
        using FileDescriptor? errFd = spec.CaptureStderr ? FileDescriptor.CreateMemory("stderr") : null;
        if (spec.Stdin is { Length: > 0 } input)
        {
            fixed (byte* p = input)
            {
                FdStream.WriteAll(inFd.Fd, p, input.Length);
            }
            _ = Libc.LSeek(inFd, 0, Libc.SeekSet);
        }
        int pid = Start(spec, inFd, outFd, errFd);
        int status = Wait(spec, pid);
        // WIFEXITED: the exit status; killed by a signal: 128 + signal, as a shell reports it.
        int exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
        return new ProcessResult(exitCode, ReadAll(outFd), errFd is null ? [] : ReadAll(errFd));
    }

    private static int Start(ProcessSpec spec, FileDescriptor inFd, FileDescriptor outFd, FileDescriptor? errFd)
    {
        using NativeStrings argv = new([spec.File, .. spec.Arguments]);
        using NativeStrings envp = new([.. spec.EffectiveEnvironment().Select(kv => kv.Key + "=" + kv.Value)]);

        // glibc's posix_spawn_file_actions_t (80 bytes), posix_spawnattr_t (336) and sigset_t (128)
        // fit with room to spare; ulong keeps them 8-byte aligned.
        ulong* actions = stackalloc ulong[64];
        ulong* attr = stackalloc ulong[128];
        ulong* sigs = stackalloc ulong[32];
        Check(Libc.PosixSpawnFileActionsInit(actions), "posix_spawn_file_actions_init");
        Check(Libc.PosixSpawnAttrInit(attr), "posix_spawnattr_init");
        int pid;
        int rc;
        try
        {
            Check(Libc.PosixSpawnFileActionsAddDup2(actions, inFd, 0), "adddup2 stdin");
            Check(Libc.PosixSpawnFileActionsAddDup2(actions, outFd, 1), "adddup2 stdout");
            if (errFd is not null)
            {
                Check(Libc.PosixSpawnFileActionsAddDup2(actions, errFd, 2), "adddup2 stderr");
            }
            // The runtime ignores SIGPIPE and may block signals; the child starts with defaults, as
            // Process starts it.
            _ = Libc.SigFillSet(sigs);
            Check(Libc.PosixSpawnAttrSetSigDefault(attr, sigs), "posix_spawnattr_setsigdefault");
            _ = Libc.SigEmptySet(sigs);
            Check(Libc.PosixSpawnAttrSetSigMask(attr, sigs), "posix_spawnattr_setsigmask");
            Check(Libc.PosixSpawnAttrSetFlags(attr, Libc.PosixSpawnSetSigDef | Libc.PosixSpawnSetSigMask), "posix_spawnattr_setflags");
            rc = Libc.PosixSpawnP(&pid, argv.Pointer[0], actions, attr, argv.Pointer, envp.Pointer);
        }
        finally
        {
            _ = Libc.PosixSpawnFileActionsDestroy(actions);
            _ = Libc.PosixSpawnAttrDestroy(attr);
        }
        if (rc != 0)
        {
            throw new ProcessStartException(spec.File, new OsException(rc, "posix_spawnp").Reason);
        }
        return pid;
    }

    private static int Wait(ProcessSpec spec, int pid)
    {
        int status;
        long deadline = spec.Timeout is { } t ? Environment.TickCount64 + (long)t.TotalMilliseconds : long.MaxValue;
        int options = spec.Timeout is null ? 0 : WNoHang;
        while (true)
        {
            int r = Libc.WaitPid(pid, &status, options);
            if (r == pid)
            {
                return status;
            }
            if (r < 0)
            {
                int errno = Libc.LastErrno;
                if (errno != Libc.EINTR)
                {
                    throw new OsException(errno, $"waitpid({spec.File}, pid {pid})");
                }
                continue;
            }
            if (Environment.TickCount64 > deadline)
            {
                _ = Signals.Send(pid, Signals.Kill);
                _ = Libc.WaitPid(pid, &status, 0);
                throw new TimeoutException($"{spec.File} did not exit within {spec.Timeout!.Value.TotalSeconds:0.#} s");
            }
            Thread.Sleep(5);
        }
    }

    /// <summary>What the child wrote: the memfd's whole content (the child moved the shared offset, not us).</summary>
    private static byte[] ReadAll(FileDescriptor fd)
    {
        long size = Libc.LSeek(fd, 0, Libc.SeekEnd);
        if (size <= 0)
        {
            return [];
        }
        byte[] buf = new byte[size];
        long done = 0;
        fixed (byte* p = buf)
        {
            while (done < size)
            {
                nint r = Libc.PRead(fd, p + done, (nint)(size - done), done);
                if (r < 0 && Libc.LastErrno == Libc.EINTR)
                {
                    continue;
                }
                if (r <= 0)
                {
                    break;
                }
                done += r;
            }
        }
        return done == size ? buf : buf[..(int)done];
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
        {
            throw new OsException(rc, what);
        }
    }

    /// <summary>A NULL-terminated array of NUL-terminated UTF-8 strings in native memory (argv, envp).</summary>
    private sealed class NativeStrings : IDisposable
    {
        public NativeStrings(IReadOnlyList<string> strings)
        {
            Pointer = (byte**)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)(strings.Count + 1), (nuint)sizeof(nint));
            _count = strings.Count;
            for (int i = 0; i < strings.Count; i++)
            {
                int n = Encoding.UTF8.GetByteCount(strings[i]);
                byte* s = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)n + 1);
                Encoding.UTF8.GetBytes(strings[i], new Span<byte>(s, n));
                s[n] = 0;
                Pointer[i] = s;
            }
        }

        private readonly int _count;

        public byte** Pointer { get; }

        public void Dispose()
        {
            for (int i = 0; i < _count; i++)
            {
                System.Runtime.InteropServices.NativeMemory.Free(Pointer[i]);
            }
            System.Runtime.InteropServices.NativeMemory.Free(Pointer);
        }
    }
}
