namespace Twill.Agent;

/// <summary>
/// Whether the previous run of the bgp backend ended without a clean stop — the one case where the
/// ToR still holds our routes as stale and the first OPEN must carry graceful restart's Restart
/// State (R) bit (RFC 4724 §3). A file in the state directory exists from the first announcement
/// until the Cease of a clean stop: found at start, the previous run crashed (kill -9, OOM, power);
/// absent, it stopped cleanly (the ToR already withdrew) or never announced, and R stays 0.
/// subnet.env cannot tell the two apart: it outlives every stop, clean or not.
/// </summary>
internal sealed class BgpRestartMarker(string stateDir)
{
    public const string FileName = "bgp-announcing";

    public string Path { get; } = System.IO.Path.Combine(stateDir, FileName);

    /// <summary>True when a run announced and did not stop cleanly since.</summary>
    public bool PreviousRunCrashed => File.Exists(Path);

    /// <summary>Marks this run as announcing (before the first session starts).</summary>
    public void Set()
    {
        Twill.Os.PrivateFiles.WriteAtomically(Path, $"pid {Environment.ProcessId}\n");
    }

    /// <summary>A clean stop: every peer got a Cease and withdrew our routes.</summary>
    public void Clear() => File.Delete(Path);
}
