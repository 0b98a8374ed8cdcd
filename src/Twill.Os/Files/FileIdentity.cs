using Twill.Os.Interop;

namespace Twill.Os;

/// <summary>A file's identity: device and inode, as hard links share them (from statx(2), following symlinks).</summary>
public readonly record struct FileIdentity(uint DeviceMajor, uint DeviceMinor, ulong Inode)
{
    /// <summary>The identity of <paramref name="path"/>, or null when it cannot be stat'ed.</summary>
    public static unsafe FileIdentity? Of(string path)
    {
        StatxBuffer buf;
        if (Libc.Statx(Libc.AtFdCwd, path, 0, Libc.StatxIno, &buf) != 0)
        {
            return null;
        }
        return new FileIdentity(buf.DevMajor, buf.DevMinor, buf.Ino);
    }
}
