using System.Text;

namespace Twill.Os;

/// <summary>
/// State only root reads: directories 0700, files 0600, whatever the process's umask. The agent's
/// state directory, the embedded lease store, host-local's reservations, the flannel plugin's saved
/// delegate configs and the lab's state directory are made this way (docs/security.md): another
/// local user must not learn a node's leases or a pod's addresses, nor plant a file there.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Creates <paramref name="path"/> and every missing parent with mode 0700 (an existing directory
    /// keeps its mode: an operator's choice for /var/lib is not ours to change).
    /// </summary>
    public static DirectoryInfo CreateDirectory(string path)
    {
        string full = Path.GetFullPath(path);
        if (OperatingSystem.IsWindows() || Directory.Exists(full))
        {
            return Directory.CreateDirectory(full);
        }
        // Directory.CreateDirectory(path, mode) gives the mode to the last directory only; its
        // missing parents would get the umask's 0755. Each missing one, top down, is made 0700.
        Stack<string> missing = new();
        for (string? d = full; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            missing.Push(d);
        }
        DirectoryInfo made = new(full);
        while (missing.TryPop(out string? d))
        {
            made = Directory.CreateDirectory(d, DirectoryMode);
        }
        return made;
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> atomically (a 0600 temporary file in
    /// the same directory, flushed, then renamed over the target): a reader sees the old file or the
    /// new one, never half of it, and a full disk leaves the old one as it was.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (FileStream stream = Create(temp, System.IO.FileMode.Create))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public static void WriteAtomically(string path, string text) => WriteAtomically(path, Encoding.UTF8.GetBytes(text));

    /// <summary>Opens <paramref name="path"/> for writing; a file it creates is 0600.</summary>
    public static FileStream Create(string path, System.IO.FileMode mode)
    {
        FileStreamOptions options = new() { Mode = mode, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }
        return new FileStream(path, options);
    }
}
