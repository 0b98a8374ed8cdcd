using Twill.Cni.Plugins;
using Twill.Cni.Plugins.HostLocal;
using Twill.Cni.Protocol;
using Twill.Firewall;
using Twill.Os;

namespace Twill.Cni;

/// <summary>
/// The multi-call entry point: the binary is installed (hard-linked) under each CNI type name and
/// runs the plugin named by the basename of argv[0]. `twill-cni TYPE` runs TYPE explicitly.
/// </summary>
public static class Program
{
    /// <summary>
    /// This process's seams: its main thread enters the pod's namespace itself (it runs nothing
    /// else and starts no thread), delegates that are this binary run in-process, and children are
    /// posix_spawn'ed (no SIGCHLD or pool threads for a process that lives for one call).
    /// </summary>
    private static readonly PluginContext PluginProcess = new()
    {
        Firewall = () => new ProcessFirewallRunner(runner: SpawnProcessRunner.Instance),
        Plugins = PluginRegistry.Get,
        Processes = SpawnProcessRunner.Instance,
        NamespaceEntry = NamespaceEntry.CallingThread,
    };

    public static int Main(string[] args)
    {
        string invokedAs = Path.GetFileName(InvokedAs());
        string type = PluginRegistry.Get(invokedAs) is null && args.Length > 0 ? args[0] : invokedAs;
        ICniPlugin? plugin = PluginRegistry.Get(type);
        if (plugin is null)
        {
            Console.Error.WriteLine($"twill-cni: unknown plugin \"{type}\"; install this binary as one of: {string.Join(", ", PluginRegistry.Types)} (or run `twill-cni TYPE`)");
            return 1;
        }
        Dictionary<string, string> env = [];
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value ?? "";
        }
        // Raw descriptors, not System.Console (see FdStream).
        using Stream stdin = new FdStream(0, write: false);
        using Stream stdout = new FdStream(1, write: true);
        using StreamWriter stderr = new(new FdStream(2, write: true)) { AutoFlush = true };
        return PluginHost.Run(plugin, env, stdin, stdout, stderr, PluginProcess);
    }

    /// <summary>argv[0] as the runtime gave it (/proc/self/cmdline keeps the hard link's name).</summary>
    private static string InvokedAs()
    {
        try
        {
            byte[] cmdline = File.ReadAllBytes("/proc/self/cmdline");
            int nul = Array.IndexOf(cmdline, (byte)0);
            return System.Text.Encoding.UTF8.GetString(cmdline, 0, nul < 0 ? cmdline.Length : nul);
        }
        catch (IOException)
        {
            return Environment.GetCommandLineArgs()[0];
        }
    }
}

/// <summary>The plugins this binary holds, by CNI type.</summary>
public static class PluginRegistry
{
    public static readonly string[] Types = ["flannel", "bridge", "host-local", "portmap", "loopback"];

    public static ICniPlugin? Get(string type) => type switch
    {
        "loopback" => new Loopback(),
        "host-local" => new HostLocalPlugin(),
        "bridge" => new Twill.Cni.Plugins.Bridge.BridgePlugin(),
        "flannel" => new Twill.Cni.Plugins.Flannel.FlannelPlugin(),
        "portmap" => new PortmapPlugin(),
        _ => null,
    };
}
