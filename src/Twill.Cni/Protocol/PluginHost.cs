using System.Text.Json;

namespace Twill.Cni.Protocol;

/// <summary>
/// Runs a plugin for one process invocation, as the reference's skel does: reads the CNI_*
/// environment and stdin, validates both, calls the command, prints the result or the error JSON
/// on stdout, and returns the exit status (0, or 1 on error).
/// </summary>
public static class PluginHost
{
    private static readonly string[] Commands = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"];

    public static int Run(ICniPlugin plugin, IReadOnlyDictionary<string, string> env, Stream stdin, Stream stdout, TextWriter stderr,
        PluginContext? context = null)
    {
        string version = CniVersions.Current;
        try
        {
            string command = env.GetValueOrDefault("CNI_COMMAND") ?? "";
            if (command.Length == 0)
            {
                stderr.WriteLine($"CNI {plugin.Type} plugin (twill)");
                stderr.WriteLine($"CNI protocol versions supported: {string.Join(", ", CniVersions.Supported)}");
                return 0;
            }
            if (Array.IndexOf(Commands, command) < 0)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment, $"unknown CNI_COMMAND: {command} (expected one of {string.Join(", ", Commands)})");
            }
            if (command == "VERSION")
            {
                WriteVersion(stdout);
                return 0;
            }
            CheckEnvironment(command, env);
            byte[] data = ReadAll(stdin);
            (JsonElement root, string v, string name, string type) = CniInvocation.ParseConfig(data);
            version = v;
            if (command == "CHECK" && !CniVersions.AtLeast(v, "0.4.0"))
            {
                throw new CniException(CniErrorCode.IncompatibleVersion, "config version does not allow CHECK", $"config is \"{v}\", CHECK needs 0.4.0 or later");
            }
            if (command is "STATUS" or "GC" && !CniVersions.AtLeast(v, "1.1.0"))
            {
                throw new CniException(CniErrorCode.IncompatibleVersion, $"config version does not allow {command}", $"config is \"{v}\", {command} needs 1.1.0 or later");
            }
            CniInvocation call = new()
            {
                Command = command,
                ContainerId = env.GetValueOrDefault("CNI_CONTAINERID") ?? "",
                Netns = env.GetValueOrDefault("CNI_NETNS") ?? "",
                IfName = env.GetValueOrDefault("CNI_IFNAME") ?? "",
                Args = CniArgs.Parse(env.GetValueOrDefault("CNI_ARGS")),
                CniPath = env.GetValueOrDefault("CNI_PATH") ?? "",
                StdinData = data,
                Config = root,
                CniVersion = v,
                Name = name,
                Type = type,
                Environment = env,
                Context = context ?? PluginContext.Default,
            };
            if (command is "ADD" or "DEL" or "CHECK")
            {
                Validation.ContainerId(call.ContainerId);
                Validation.InterfaceName(call.IfName);
            }
            switch (command)
            {
                case "ADD":
                    CniResult result = plugin.Add(call);
                    stdout.Write(ResultWriter.ToJson(result, v));
                    break;
                case "DEL":
                    plugin.Del(call);
                    break;
                case "CHECK":
                    plugin.Check(call);
                    break;
                case "STATUS":
                    plugin.Status(call);
                    break;
                default:
                    plugin.Gc(call);
                    break;
            }
            stdout.Flush();
            return 0;
        }
        catch (CniException e)
        {
            WriteError(stdout, version, e.RawCode, e.Message, e.Details);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(stdout, version, (int)CniErrorCode.IoFailure, e.Message, null);
            return 1;
        }
        catch (Exception e)
        {
            WriteError(stdout, version, (int)CniErrorCode.Internal, e.Message, null);
            return 1;
        }
    }

    /// <summary>Which variables each command needs (spec 1.1 "Parameters").</summary>
    public static void CheckEnvironment(string command, IReadOnlyDictionary<string, string> env)
    {
        List<string> missing = [];
        void Need(string key, bool needed)
        {
            if (needed && string.IsNullOrEmpty(env.GetValueOrDefault(key)))
            {
                missing.Add(key);
            }
        }
        bool attach = command is "ADD" or "DEL" or "CHECK";
        Need("CNI_CONTAINERID", attach);
        Need("CNI_NETNS", command is "ADD" or "CHECK");
        Need("CNI_IFNAME", attach);
        Need("CNI_PATH", command != "STATUS");
        if (missing.Count > 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"required env variables [{string.Join(',', missing)}] missing");
        }
    }

    public static void WriteVersion(Stream stdout)
    {
        using Utf8JsonWriter w = new(stdout);
        w.WriteStartObject();
        w.WriteString("cniVersion", CniVersions.Current);
        w.WriteStartArray("supportedVersions");
        foreach (string s in CniVersions.Supported)
        {
            w.WriteStringValue(s);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteError(Stream stdout, string cniVersion, int code, string msg, string? details)
    {
        using Utf8JsonWriter w = new(stdout, new JsonWriterOptions { Indented = true, IndentSize = 4, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("cniVersion", cniVersion);
        w.WriteNumber("code", code);
        w.WriteString("msg", msg);
        if (!string.IsNullOrEmpty(details))
        {
            w.WriteString("details", details);
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// The largest network config read from stdin. A runtime sends a few KB (a conflist's plugin
    /// with its runtimeConfig and prevResult); anything past this is refused, not buffered.
    /// </summary>
    public const int MaxConfigBytes = 1024 * 1024;

    private static byte[] ReadAll(Stream s)
    {
        // A config is a few KB: a small buffer rather than CopyTo's pooled 80 KB one, whose
        // pages a short-lived process would fault in for nothing.
        using MemoryStream ms = new();
        Span<byte> buffer = stackalloc byte[4096];
        int n;
        while ((n = s.Read(buffer)) > 0)
        {
            if (ms.Length + n > MaxConfigBytes)
            {
                throw new CniException(CniErrorCode.DecodingFailure, "network config too large", $"more than {MaxConfigBytes} bytes on stdin");
            }
            ms.Write(buffer[..n]);
        }
        return ms.ToArray();
    }
}
