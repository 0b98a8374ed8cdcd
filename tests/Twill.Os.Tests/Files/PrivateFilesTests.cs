namespace Twill.Os.Tests.Files;

/// <summary>The modes do not depend on the umask: under the usual 022 a plain write gives 0755/0644.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrivateFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("twill-private-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WriteAtomically_NewDirectories_Are0700AndTheFile0600()
    {
        string path = Path.Combine(_dir, "a", "b", "state");
        PrivateFiles.WriteAtomically(path, "x\n");
        Assert.Equal("x\n", File.ReadAllText(path));
        Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(path));
        Assert.Equal(PrivateFiles.DirectoryMode, File.GetUnixFileMode(Path.Combine(_dir, "a", "b")));
        Assert.Equal(PrivateFiles.DirectoryMode, File.GetUnixFileMode(Path.Combine(_dir, "a")));
        Assert.Equal(["state"], Directory.GetFiles(Path.Combine(_dir, "a", "b")).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteAtomically_ExistingWorldReadableFile_Becomes0600()
    {
        string path = Path.Combine(_dir, "state");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, PrivateFiles.FileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        PrivateFiles.WriteAtomically(path, "new");
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(path));
    }

    [Fact]
    public void CreateDirectory_Existing_KeepsItsMode()
    {
        UnixFileMode before = File.GetUnixFileMode(_dir) | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
        File.SetUnixFileMode(_dir, before);
        PrivateFiles.CreateDirectory(_dir);
        Assert.Equal(before, File.GetUnixFileMode(_dir));
    }
}
