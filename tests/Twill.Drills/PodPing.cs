using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Twill.Drills;

/// <summary>
/// Continuous ping from one pod to another (every 20 ms by default) while a drill disturbs the
/// cluster: a fixed count is sent and every reply is waited for, so lost = sent - received.
/// </summary>
public sealed partial class PodPing : IDisposable
{
    private readonly Process _ping;
    private readonly Task<string> _stdout;

    private PodPing(Process ping)
    {
        _ping = ping;
        _stdout = ping.StandardOutput.ReadToEndAsync();
    }

    public static PodPing Start(string fromNetns, string target, TimeSpan duration, TimeSpan? interval = null)
    {
        TimeSpan every = interval ?? TimeSpan.FromMilliseconds(20);
        int count = Math.Max(1, (int)(duration / every));
        ProcessStartInfo psi = new("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // -w: after the last packet, wait for every reply (a late one is not a lost one) up to 10 s.
        foreach (string a in (string[])["netns", "exec", fromNetns, "ping", "-q", "-n", "-i", every.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture),
            "-c", count.ToString(CultureInfo.InvariantCulture), "-w", ((int)duration.TotalSeconds + 10).ToString(CultureInfo.InvariantCulture), target])
        {
            psi.ArgumentList.Add(a);
        }
        return new PodPing(Process.Start(psi) ?? throw new InvalidOperationException("ping did not start"));
    }

    /// <summary>Waits for ping to finish; its counts.</summary>
    public PingResult Wait()
    {
        _ping.WaitForExit();
        string output = _stdout.GetAwaiter().GetResult();
        Match m = Summary().Match(output);
        if (!m.Success)
        {
            throw new InvalidOperationException($"ping printed no summary: {output} {_ping.StandardError.ReadToEnd()}");
        }
        return new PingResult(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"(\d+) packets transmitted, (\d+) received")]
    private static partial Regex Summary();

    public void Dispose()
    {
        if (!_ping.HasExited)
        {
            _ping.Kill();
        }
        _ping.Dispose();
    }
}

public readonly record struct PingResult(int Sent, int Received)
{
    public int Lost => Sent - Received;

    public override string ToString() => $"{Lost}/{Sent} lost";
}
