using Twill.Os.Interop;

namespace Twill.Os;

/// <summary>
/// A standard stream (fd 0, 1 or 2) read and written with read(2)/write(2), unbuffered and at
/// whatever position the descriptor has. System.Console would do the same, after a terminal
/// set-up that starts a signal-handling thread and a pipe; a FileStream would track its own
/// offset in a regular file, so stdout and stderr redirected to one file would overwrite each other.
/// The descriptor is not closed on Dispose.
/// </summary>
public sealed unsafe class FdStream(int fd, bool write) : Stream
{
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
                nint n = Libc.Read(fd, p, buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }
                int errno = Libc.LastErrno;
                if (errno != Libc.EINTR)
                {
                    throw new IOException($"read from fd {fd} failed: {new OsException(errno, "read").Reason}");
                }
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            WriteAll(fd, p, buffer.Length);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    internal static void WriteAll(int fd, byte* p, int length)
    {
        int done = 0;
        while (done < length)
        {
            nint n = Libc.Write(fd, p + done, length - done);
            if (n >= 0)
            {
                done += (int)n;
                continue;
            }
            int errno = Libc.LastErrno;
            if (errno != Libc.EINTR)
            {
                throw new IOException($"write to fd {fd} failed: {new OsException(errno, "write").Reason}");
            }
        }
    }
}
