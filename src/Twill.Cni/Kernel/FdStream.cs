using System.Runtime.InteropServices;

namespace Twill.Cni.Kernel;

/// <summary>
/// A standard stream (fd 0, 1 or 2) read and written with read(2)/write(2), unbuffered and at
/// whatever position the descriptor has. System.Console would do the same, after a terminal
/// set-up that starts a signal-handling thread and a pipe; a FileStream would track its own
/// offset in a regular file, so stdout and stderr redirected to one file would overwrite each other.
/// </summary>
internal sealed unsafe partial class FdStream(int fd, bool write) : Stream
{
    private const int Eintr = 4;

    public override bool CanRead => !write;

    public override bool CanSeek => false;

    public override bool CanWrite => write;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = ReadFd(fd, p, buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Eintr)
                {
                    throw new IOException($"read from fd {fd} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint n = WriteFd(fd, p + done, buffer.Length - done);
                if (n >= 0)
                {
                    done += (int)n;
                    continue;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Eintr)
                {
                    throw new IOException($"write to fd {fd} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
            }
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadFd(int fd, byte* buf, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteFd(int fd, byte* buf, nint count);
}
