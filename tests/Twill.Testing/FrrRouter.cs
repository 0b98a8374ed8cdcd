using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Twill.Testing;

/// <summary>
/// A real FRR (zebra + bgpd, Debian <c>frr</c>) in a test's namespace, run exactly as
/// ../shared/reference/frr-tor.md shows: per-namespace zserv and vty sockets, no TCP vty, never the
/// package's service; stopped by the PIDs it wrote. The namespace's kernel table is the oracle of
/// what bgpd learnt (<see cref="HasBgpRoute"/>).
/// </summary>
public sealed class FrrRouter : IDisposable
{
    public const string Bin = "/usr/lib/frr";

    private readonly TestNetns _ns;
    private readonly string _dir;

    /// <summary>Starts zebra and bgpd in <paramref name="ns"/> with <paramref name="bgpdConf"/>; waits until bgpd answers on its vty.</summary>
    public FrrRouter(TestNetns ns, string bgpdConf)
    {
        if (!Installed)
        {
            throw new InvalidOperationException("FRR is not installed (Debian package frr; build/install-deps.sh installs it)");
        }
        _ns = ns;
        _dir = Path.Combine(Path.GetTempPath(), $"{ns.Name}-frr");
        Directory.CreateDirectory(Path.Combine(_dir, "run"));
        File.WriteAllText(Path.Combine(_dir, "zebra.conf"), "hostname tor\n");
        File.WriteAllText(Path.Combine(_dir, "bgpd.conf"), bgpdConf + "\n");
        try
        {
            Tool.Check("chown", "-R", "frr:frr", _dir);
            foreach (string daemon in new[] { "zebra", "bgpd" })
            {
                ns.Exec(Path.Combine(Bin, daemon), "-d", "-u", "frr", "-g", "frr", "-P", "0",
                    "-f", Path.Combine(_dir, daemon + ".conf"), "-i", Path.Combine(_dir, "run", daemon + ".pid"),
                    "-z", Path.Combine(_dir, "run", "zserv.api"), "--vty_socket", Path.Combine(_dir, "run")).EnsureSuccess(daemon);
            }
            Eventually(() => Vtysh("show bgp summary").Length > 0, TimeSpan.FromSeconds(30), "bgpd answering on its vty");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static bool Installed => File.Exists(Path.Combine(Bin, "bgpd")) && File.Exists(Path.Combine(Bin, "zebra"));

    /// <summary>`vtysh -c COMMAND` on this router's vty socket; "" when vtysh fails.</summary>
    public string Vtysh(string command)
    {
        Tool.Result r = Tool.Run("vtysh", ["--vty_socket", Path.Combine(_dir, "run"), "-c", command], stdin: null, TimeSpan.FromSeconds(20));
        return r.ExitCode == 0 ? r.Stdout : "";
    }

    /// <summary>vtysh with several <c>-c</c> arguments (a configuration session); throws when vtysh fails.</summary>
    public string VtyshAll(IEnumerable<string> args) =>
        Tool.Run("vtysh", ["--vty_socket", Path.Combine(_dir, "run"), .. args], stdin: null, TimeSpan.FromSeconds(20)).EnsureSuccess("vtysh").Stdout;

    /// <summary>The namespace's kernel routes for <paramref name="prefix"/> (`ip -n NS -j route show PREFIX`).</summary>
    public JsonElement Routes(string prefix) =>
        _ns.IpJson(prefix.Contains(':', StringComparison.Ordinal) ? "-6" : "-4", "route", "show", prefix);

    /// <summary>Whether the kernel holds <paramref name="prefix"/> as `proto bgp` via <paramref name="via"/> (alone or as one ECMP next hop).</summary>
    public bool HasBgpRoute(string prefix, IPAddress via) =>
        Routes(prefix).EnumerateArray().Any(r =>
            r.TryGetProperty("protocol", out JsonElement p) && p.GetString() == "bgp"
            && (Gateway(r) == via.ToString()
                || (r.TryGetProperty("nexthops", out JsonElement hops) && hops.EnumerateArray().Any(h => Gateway(h) == via.ToString()))));

    /// <summary>Whether the kernel has no route for <paramref name="prefix"/> at all.</summary>
    public bool HasNoRoute(string prefix) => Routes(prefix).GetArrayLength() == 0;

    private static string? Gateway(JsonElement e) => e.TryGetProperty("gateway", out JsonElement g) ? g.GetString() : null;

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>. Returns how long it took.</summary>
    public static TimeSpan Eventually(Func<bool> condition, TimeSpan timeout, string what)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"not within {timeout.TotalSeconds} s: {what}");
            }
            Thread.Sleep(100);
        }
        return clock.Elapsed;
    }

    public void Dispose()
    {
        string run = Path.Combine(_dir, "run");
        foreach (string pidFile in Directory.Exists(run) ? Directory.GetFiles(run, "*.pid") : [])
        {
            if (!int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid))
            {
                continue;
            }
            try
            {
                using Process p = Process.GetProcessById(pid);
                p.Kill();
                p.WaitForExit(5000);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Already gone.
            }
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// A root test that also needs FRR: Category=Root like <see cref="RootFactAttribute"/>, skipped with
/// the reason when not root or when /usr/lib/frr/bgpd is missing.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
[Xunit.Sdk.TraitDiscoverer("Twill.Testing.RootTraitDiscoverer", "Twill.Testing")]
public sealed class FrrFactAttribute : FactAttribute, Xunit.Sdk.ITraitAttribute
{
    public FrrFactAttribute()
    {
        if (!Privileges.IsRoot)
        {
            Skip = "needs root (network namespaces, FRR in a ToR namespace); run `sudo make test`";
        }
        else if (!FrrRouter.Installed)
        {
            Skip = "FRR is not installed (Debian package frr; build/install-deps.sh installs it)";
        }
    }
}
