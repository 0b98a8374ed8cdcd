using System.Runtime.InteropServices;

namespace Twill.Os.Interop;

internal static unsafe partial class Libc
{
    public const short PosixSpawnSetSigDef = 0x04;
    public const short PosixSpawnSetSigMask = 0x08;

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Lib, EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, int* status, int options);

    // posix_spawn* return the error number instead of setting errno.
    [LibraryImport(Lib, EntryPoint = "posix_spawnp")]
    public static partial int PosixSpawnP(int* pid, byte* file, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int PosixSpawnFileActionsInit(void* fileActions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int PosixSpawnFileActionsAddDup2(void* fileActions, SafeHandle fd, int newFd);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int PosixSpawnFileActionsDestroy(void* fileActions);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_init")]
    public static partial int PosixSpawnAttrInit(void* attr);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setflags")]
    public static partial int PosixSpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigdefault")]
    public static partial int PosixSpawnAttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigmask")]
    public static partial int PosixSpawnAttrSetSigMask(void* attr, void* sigset);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_destroy")]
    public static partial int PosixSpawnAttrDestroy(void* attr);

    [LibraryImport(Lib, EntryPoint = "sigfillset")]
    public static partial int SigFillSet(void* set);

    [LibraryImport(Lib, EntryPoint = "sigemptyset")]
    public static partial int SigEmptySet(void* set);
}
