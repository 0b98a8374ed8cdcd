using System.Security.Cryptography;
using Twill.Testing;

namespace Twill.Deploy.Tests;

/// <summary>
/// The image the manifest names, as <c>make image</c> builds it (build/image.sh: the Containerfile on
/// the Debian base made here). <c>make test</c> builds it before the tests; a test run on its own
/// (dotnet test) builds it here when it is missing or holds other binaries than out/ (the
/// <c>io.twill.binaries</c> label), so the containers always run the code under test. The image and
/// its base are kept for the next run (build/image.sh reuses the base); the test removes only its containers.
/// </summary>
internal static class ContainerImage
{
    public const string BinariesLabel = "io.twill.binaries";

    /// <summary>The CNI types build/image.sh puts in the image, in the order it hashes them.</summary>
    private static readonly string[] CniTypes = ["flannel", "bridge", "host-local", "portmap", "loopback"];

    public static string Repo { get; } = FindRepo();

    public static string Twill { get; } = Path.Combine(Repo, "out", "bin", "twill");

    public static void EnsureBuilt(string image)
    {
        Assert.True(File.Exists(Twill), $"{Twill} is not built: run `make build` first");
        string want = BinariesHash();
        if (Label(image) == want)
        {
            return;
        }
        Tool.Result build = Tool.Run("bash", [Path.Combine(Repo, "build", "image.sh")], stdin: null, timeout: TimeSpan.FromMinutes(8));
        Assert.True(build.ExitCode == 0, $"build/image.sh exited {build.ExitCode}:\n{build.Stdout}\n{build.Stderr}");
        Assert.Equal(want, Label(image));
    }

    private static string? Label(string image)
    {
        Tool.Result r = Tool.Run("podman", ["image", "inspect", "--format", $"{{{{index .Labels \"{BinariesLabel}\"}}}}", image], stdin: null);
        return r.ExitCode == 0 ? r.Stdout.Trim() : null;
    }

    // sha256 of bin/twill then each CNI type, concatenated: what build/image.sh labels the image with.
    private static string BinariesHash()
    {
        using IncrementalHash sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string file in CniTypes.Select(t => Path.Combine(Repo, "out", "cni", t)).Prepend(Twill))
        {
            sha.AppendData(File.ReadAllBytes(file));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static string FindRepo()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Twill.slnx")))
            {
                return d.FullName;
            }
        }
        throw new InvalidOperationException($"no Twill.slnx above {AppContext.BaseDirectory}");
    }
}
