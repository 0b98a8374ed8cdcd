using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Twill.Cni.Protocol;

/// <summary>
/// Calls another plugin (an IPAM plugin, flannel's delegate) as libcni's invoke package does:
/// found by type in CNI_PATH, given the same environment with its own CNI_COMMAND and config.
/// When the binary found is this very executable (same device and inode as /proc/self/exe) the
/// plugin runs in-process: no fork/exec, no second runtime start.
/// </summary>
public static partial class Delegation
{
    /// <summary>The plugins this binary holds, by type; set by Program.</summary>
    public static Func<string, ICniPlugin?> Registry { get; set; } = _ => null;

    public static CniResult Add(string type, byte[] config, CniInvocation parent) =>
        Invoke(type, "ADD", config, parent) ?? throw new CniException(CniErrorCode.Internal, $"plugin \"{type}\" returned no result for ADD");

    public static void Del(string type, byte[] config, CniInvocation parent) => Invoke(type, "DEL", config, parent);

    public static void Check(string type, byte[] config, CniInvocation parent) => Invoke(type, "CHECK", config, parent);

    /// <summary>GC (1.1): the delegate releases what is not in the config's cni.dev/valid-attachments.</summary>
    public static void Gc(string type, byte[] config, CniInvocation parent) => Invoke(type, "GC", config, parent);

    public static CniResult? Invoke(string type, string command, byte[] config, CniInvocation parent)
    {
        string path = Find(type, parent.CniPath);
        ICniPlugin? local = IsSelf(path) ? Registry(type) : null;
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
        ProcessStartInfo psi = new(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        psi.Environment.Clear();
        foreach (KeyValuePair<string, string> kv in parent.Environment)
        {
            psi.Environment[kv.Key] = kv.Value;
        }
        psi.Environment["CNI_COMMAND"] = command;
        using Process p = Process.Start(psi) ?? throw new CniException(CniErrorCode.Internal, $"could not start {path}");
        p.StandardInput.BaseStream.Write(config);
        p.StandardInput.Close();
        using MemoryStream ms = new();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        byte[] output = ms.ToArray();
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
    public static bool IsSelf(string path)
    {
        return Identity(path) is { } a && Identity("/proc/self/exe") is { } b && a == b;
    }

    private static unsafe (ulong Dev, ulong Ino)? Identity(string path)
    {
        // struct stat begins with st_dev and st_ino (both 64-bit) on x86_64 and arm64.
        byte* buf = stackalloc byte[256];
        if (stat(path, buf) != 0)
        {
            return null;
        }
        return (*(ulong*)buf, *(ulong*)(buf + 8));
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int stat(string path, byte* buf);
}
