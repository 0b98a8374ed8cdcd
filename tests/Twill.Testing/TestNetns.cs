using System.Security.Cryptography;

namespace Twill.Testing;

/// <summary>
/// A network namespace that exists for one test: created with a per-run unique name
/// (<c>twt-&lt;run&gt;-&lt;n&gt;-&lt;label&gt;</c>), removed on Dispose even when the test failed.
/// It is made with iproute2 (`ip netns add`) on purpose: the code under test is checked against
/// an independent tool, not against itself.
/// </summary>
public sealed class TestNetns : IDisposable
{
    /// <summary>Random per test process, so parallel runs and leftovers never collide.</summary>
    public static string RunPrefix { get; } = "twt-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    private static int s_counter;
    private bool _disposed;

    public string Name { get; }

    /// <summary>The bind-mounted namespace file, as `ip netns` makes it.</summary>
    public string Path => "/var/run/netns/" + Name;

    public TestNetns(string label = "ns")
    {
        int n = Interlocked.Increment(ref s_counter);
        Name = $"{RunPrefix}-{n}-{label}";
        if (Name.Length > 48)
        {
            throw new ArgumentException($"namespace label too long: {label}", nameof(label));
        }
        Tool.Check("ip", "netns", "add", Name);
        Tool.Check("ip", "-n", Name, "link", "set", "lo", "up");
    }

    /// <summary>Runs `ip -n NAME ARGS` and returns its stdout; throws on failure.</summary>
    public string Ip(params string[] args) => Tool.Check("ip", ["-n", Name, .. args]);

    /// <summary>Runs `ip -n NAME -j ARGS` and parses the JSON array it prints.</summary>
    public System.Text.Json.JsonElement IpJson(params string[] args)
    {
        string json = Tool.Check("ip", ["-n", Name, "-j", .. args]);
        if (string.IsNullOrWhiteSpace(json))
        {
            json = "[]";
        }
        using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    /// <summary>Runs a command inside the namespace (`ip netns exec`).</summary>
    public Tool.Result Exec(params string[] command) => Tool.Run("ip", ["netns", "exec", Name, .. command]);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        // Kill whatever still runs inside (a test's ping, a plugin), then drop the namespace.
        Tool.Run("ip", "netns", "pids", Name).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToList()
            .ForEach(pid => Tool.Run("kill", "-9", pid.Trim()));
        Tool.Run("ip", "netns", "delete", Name);
    }
}
