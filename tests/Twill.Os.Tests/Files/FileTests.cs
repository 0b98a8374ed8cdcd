using System.Globalization;
using Twill.Os;
using Twill.Testing;

namespace Twill.Os.Tests.Files;

public sealed class FileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-os-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void FileIdentity_HardLinkAndItsTarget_Equal_OtherFileDiffers()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b"), c = Path.Combine(_dir, "c");
        File.WriteAllText(a, "x");
        File.WriteAllText(c, "x");
        Tool.Check("ln", [a, b]);
        Assert.Equal(FileIdentity.Of(a), FileIdentity.Of(b));
        Assert.NotEqual(FileIdentity.Of(a), FileIdentity.Of(c));
    }

    [Fact]
    public void FileIdentity_MatchesStat()
    {
        string a = Path.Combine(_dir, "a");
        File.WriteAllText(a, "x");
        string[] stat = Tool.Check("stat", ["-c", "%Hd %Ld %i", a]).Trim().Split(' ');
        FileIdentity id = FileIdentity.Of(a)!.Value;
        Assert.Equal(uint.Parse(stat[0], CultureInfo.InvariantCulture), id.DeviceMajor);
        Assert.Equal(uint.Parse(stat[1], CultureInfo.InvariantCulture), id.DeviceMinor);
        Assert.Equal(ulong.Parse(stat[2], CultureInfo.InvariantCulture), id.Inode);
    }

    [Fact]
    public void FileIdentity_Symlink_FollowsIt_MissingIsNull()
    {
        string a = Path.Combine(_dir, "a"), l = Path.Combine(_dir, "l");
        File.WriteAllText(a, "x");
        File.CreateSymbolicLink(l, a);
        Assert.Equal(FileIdentity.Of(a), FileIdentity.Of(l));
        Assert.Null(FileIdentity.Of(Path.Combine(_dir, "missing")));
    }

    [Fact]
    public async Task FileLock_HeldByAnother_SecondWaitsUntilReleased()
    {
        string path = Path.Combine(_dir, "lock");
        Task<FileLock> second;
        using (FileLock first = FileLock.Acquire(path, 0x180))
        {
            // flock belongs to the open file description: a second open in this process conflicts too.
            second = Task.Factory.StartNew(() => FileLock.Acquire(path, 0x180), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Task done = await Task.WhenAny(second, Task.Delay(300));
            Assert.NotSame(second, done);
        }
        (await second.WaitAsync(TimeSpan.FromSeconds(30))).Dispose();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void FileDescriptor_OpenMissingWithoutCreate_OsExceptionWithErrno()
    {
        OsException e = Assert.Throws<OsException>(() => FileDescriptor.Open(Path.Combine(_dir, "missing"), OpenFlags.ReadOnly | OpenFlags.CloseOnExec));
        Assert.Equal(2, e.Errno); // ENOENT
        Assert.Equal("open", e.Operation);
    }

    [Fact]
    public void FdStream_WriteThenRead_SameBytes()
    {
        string path = Path.Combine(_dir, "f");
        using (FileDescriptor fd = FileDescriptor.Open(path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.CloseOnExec, 0x180))
        using (FdStream w = new(fd.Fd, write: true))
        {
            w.Write("hello"u8);
        }
        using FileDescriptor rfd = FileDescriptor.Open(path, OpenFlags.ReadOnly | OpenFlags.CloseOnExec);
        using FdStream r = new(rfd.Fd, write: false);
        byte[] buf = new byte[16];
        int n = r.Read(buf);
        Assert.Equal("hello"u8.ToArray(), buf[..n]);
    }
}
