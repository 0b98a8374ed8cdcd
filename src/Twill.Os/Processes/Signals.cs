using Twill.Os.Interop;

namespace Twill.Os;

/// <summary>kill(2) to one process by PID (never by name).</summary>
public static class Signals
{
    public const int Kill = 9;
    public const int Terminate = 15;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when it could not (no such process, EPERM).</summary>
    public static bool Send(int pid, int signal) => Libc.Kill(pid, signal) == 0;
}
