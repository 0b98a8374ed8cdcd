using System.Text;
using System.Text.Json;
using Twill.Cni.Protocol;

namespace Twill.Cni.Tests;

/// <summary>Runs a plugin in-process through <see cref="PluginHost"/>, as a runtime would run the binary.</summary>
internal static class Host
{
    public sealed record Output(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json
        {
            get
            {
                using JsonDocument d = JsonDocument.Parse(Stdout);
                return d.RootElement.Clone();
            }
        }
    }

    public static Output Run(ICniPlugin plugin, string command, string config, string containerId = "c1",
        string ifName = "eth0", string netns = "/var/run/netns/none", string? cniArgs = null)
    {
        Dictionary<string, string> env = new()
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_NETNS"] = netns,
            ["CNI_IFNAME"] = ifName,
            ["CNI_PATH"] = "/nonexistent",
        };
        if (cniArgs is not null)
        {
            env["CNI_ARGS"] = cniArgs;
        }
        return Run(plugin, env, config);
    }

    public static Output Run(ICniPlugin plugin, Dictionary<string, string> env, string config)
    {
        using MemoryStream stdin = new(Encoding.UTF8.GetBytes(config));
        using MemoryStream stdout = new();
        using StringWriter stderr = new();
        int rc = PluginHost.Run(plugin, env, stdin, stdout, stderr);
        return new Output(rc, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }
}

/// <summary>A temporary directory removed on Dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("twill-cni-test-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
