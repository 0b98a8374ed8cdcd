using System.Text.Json;
using Twill.Os;

namespace Twill.Cni.Protocol;

/// <summary>
/// Calls another plugin (an IPAM plugin, flannel's delegate) as libcni's invoke package does:
/// found by type in CNI_PATH, given the same environment with its own CNI_COMMAND and config.
/// When the binary found is this very executable (same device and inode as /proc/self/exe) the
/// plugin runs in-process: no fork/exec, no second runtime start.
/// </summary>
public static class Delegation
{
    public static CniResult Add(string type, byte[] config, CniInvocation parent) =>
        Invoke(type, "ADD", config, parent) ?? throw new CniException(CniErrorCode.Internal, $"plugin \"{type}\" returned no result for ADD");

    public static void Del(string type, byte[] config, CniInvocation parent) => Invoke(type, "DEL", config, parent);

    public static void Check(string type, byte[] config, CniInvocation parent) => Invoke(type, "CHECK", config, parent);

    /// <summary>GC (1.1): the delegate releases what is not in the config's cni.dev/valid-attachments.</summary>
    public static void Gc(string type, byte[] config, CniInvocation parent) => Invoke(type, "GC", config, parent);

    public static CniResult? Invoke(string type, string command, byte[] config, CniInvocation parent)
    {
        string path = Find(type, parent.CniPath);
        ICniPlugin? local = IsSelf(path) ? parent.Context.Plugins(type) : null;
        if (local is not null)
        {
            CniInvocation call = parent.ForDelegate(command, config);
            switch (command)
            {
                case "ADD": return local.Add(call);
                case "DEL": local.Del(call); return null;
                case "CHECK": local.Check(call); return null;
                case "GC": local.Gc(call); return null;
                default: throw new CniException(CniErrorCode.InvalidEnvironment, $"cannot delegate {command}");
            }
        }
        return Exec(path, command, config, parent);
    }

    public static string Find(string type, string cniPath)
    {
        string[] dirs = cniPath.Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, type);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new CniException(CniErrorCode.Internal, $"failed to find plugin \"{type}\" in path [{string.Join(' ', dirs)}]");
    }

    private static CniResult? Exec(string path, string command, byte[] config, CniInvocation parent)
    {
        Dictionary<string, string> env = new(parent.Environment, StringComparer.Ordinal) { ["CNI_COMMAND"] = command };
        ProcessResult p;
        try
        {
            p = parent.Context.Processes.Run(new ProcessSpec(path, []) { Environment = env, Stdin = config, CaptureStderr = false });
        }
        catch (ProcessStartException e)
        {
            throw new CniException(CniErrorCode.Internal, e.Message);
        }
        byte[] output = p.Stdout;
        if (p.ExitCode != 0)
        {
            throw DecodeError(path, output);
        }
        if (command != "ADD")
        {
            return null;
        }
        try
        {
            using JsonDocument doc = JsonDocument.Parse(output);
            return ResultReader.Read(doc.RootElement, $"result of {path}");
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"{path} printed a result that is not JSON: {e.Message}");
        }
    }

    private static CniException DecodeError(string path, byte[] output)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(output);
            JsonElement e = doc.RootElement;
            int code = ResultReader.TryGet(e, "code", out JsonElement c) && c.TryGetInt32(out int ci) ? ci : 999;
            string msg = ResultReader.Str(e, "msg") ?? "";
            CniErrorCode known = Enum.IsDefined((CniErrorCode)code) ? (CniErrorCode)code : CniErrorCode.Internal;
            return new CniException(known, msg, ResultReader.Str(e, "details")) { RawCode = code };
        }
        catch (JsonException)
        {
            return new CniException(CniErrorCode.Internal, $"netplugin failed: \"{System.Text.Encoding.UTF8.GetString(output).Trim()}\" ({path})");
        }
    }

    /// <summary>Same file as the running executable (hard links share device and inode).</summary>
    public static bool IsSelf(string path) =>
        FileIdentity.Of(path) is { } a && FileIdentity.Of("/proc/self/exe") is { } b && a == b;
}
