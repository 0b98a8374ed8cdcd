using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Twill.Cni.Conformance.Harness;

/// <summary>One plugin invocation, with the environment libcni sets (spec: "Parameters").</summary>
public sealed record CniRequest
{
    public required string Command { get; init; }
    public string? ContainerId { get; init; }
    public string? Netns { get; init; }
    public string? IfName { get; init; } = "eth0";
    public string? Args { get; init; }
    public required string Config { get; init; }

    /// <summary>Variables to drop (to test the "missing environment" errors).</summary>
    public IReadOnlyList<string> Unset { get; init; } = [];
}

/// <summary>What a plugin did: exit code, stdout, stderr, and the spec's error object if it printed one.</summary>
public sealed record CniOutcome(int ExitCode, string Stdout, string Stderr)
{
    public JsonNode? Json
    {
        get
        {
            try
            {
                return string.IsNullOrWhiteSpace(Stdout) ? null : JsonNode.Parse(Stdout);
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }
    }

    public bool Ok => ExitCode == 0;

    /// <summary>The error's "code" (spec: Error), or null when the plugin succeeded or printed no error object.</summary>
    public int? ErrorCode => ExitCode != 0 && Json is JsonObject o && o["code"] is JsonValue v && v.TryGetValue(out int c) ? c : null;

    public string ErrorMessage => Json is JsonObject o ? $"{o["msg"]} {o["details"]}".Trim() : Stdout.Trim();

    public override string ToString() => $"exit {ExitCode}; stdout: {Stdout.Trim()}; stderr: {Stderr.Trim()}";

    public CniOutcome EnsureSuccess(string what) => Ok
        ? this
        : throw new InvalidOperationException($"{what} failed: {this}");
}

/// <summary>
/// Runs a plugin binary the way libcni's invoke package does: a clean environment holding only the
/// CNI_* variables and PATH, the network config on stdin, the result read from stdout. When a node
/// namespace is given the process starts inside it (`ip netns exec`), so the bridge, the host-side
/// veth, sysctls and iptables rules land there and nowhere else.
/// </summary>
public static class CniExec
{
    public static CniOutcome Run(string pluginDir, string type, CniRequest request, string? nodeNetns, TimeSpan? timeout = null)
    {
        string plugin = Path.Combine(pluginDir, type);
        ProcessStartInfo psi = nodeNetns is null ? new ProcessStartInfo(plugin) : new ProcessStartInfo("ip");
        if (nodeNetns is not null)
        {
            foreach (string a in (string[])["netns", "exec", nodeNetns, plugin])
            {
                psi.ArgumentList.Add(a);
            }
        }
        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        psi.Environment.Clear();
        Dictionary<string, string?> env = new()
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["CNI_COMMAND"] = request.Command,
            ["CNI_CONTAINERID"] = request.ContainerId,
            ["CNI_NETNS"] = request.Netns,
            ["CNI_IFNAME"] = request.IfName,
            ["CNI_ARGS"] = request.Args,
            ["CNI_PATH"] = pluginDir,
        };
        foreach (string name in request.Unset)
        {
            env.Remove(name);
        }
        foreach ((string k, string? v) in env)
        {
            if (v is not null)
            {
                psi.Environment[k] = v;
            }
        }

        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {plugin}");
        StringBuilder err = new();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (err) { err.AppendLine(e.Data); } } };
        p.BeginErrorReadLine();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        try
        {
            p.StandardInput.Write(request.Config);
            p.StandardInput.Close();
        }
        catch (IOException)
        {
            // The plugin may exit before reading stdin (VERSION, bad environment): not our failure.
        }
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(60);
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{type} {request.Command} did not finish within {limit.TotalSeconds} s");
        }
        p.WaitForExit();
        lock (err)
        {
            return new CniOutcome(p.ExitCode, stdout.GetAwaiter().GetResult(), err.ToString());
        }
    }
}
