using System.Text.Json;
using System.Text.Json.Serialization;

namespace Twill.Lab;

/// <summary>
/// What a lab made, written to state.json as it goes (before each thing is created), so <c>down</c>
/// removes exactly that, even after a crash half-way through <c>up</c>.
/// </summary>
public sealed class LabState
{
    public string Name { get; set; } = "";

    public string Backend { get; set; } = "";

    public string Underlay { get; set; } = "";

    public string Store { get; set; } = "";

    /// <summary>bgp or static for a tor lab (how its ToR learns the pod subnets); null otherwise.</summary>
    public string? TorMode { get; set; }

    public DateTimeOffset Created { get; set; }

    /// <summary>The step of <c>up</c> running (or the one it stopped in, after a crash); null once <see cref="Ready"/>.</summary>
    public string? Step { get; set; }

    /// <summary>Set once every step of <c>up</c> finished.</summary>
    public bool Ready { get; set; }

    /// <summary>The CNI plugins the pods were added with; <c>down</c> deletes them with the same.</summary>
    public string? CniPath { get; set; }

    public List<string> Namespaces { get; set; } = [];

    public List<LabProcess> Processes { get; set; } = [];

    public List<LabNodeState> Nodes { get; set; } = [];

    public List<LabPodState> Pods { get; set; } = [];

    public static LabState? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), LabJsonContext.Default.LabState);
        }
        catch (JsonException e)
        {
            throw new LabConfigException($"{path}: unreadable lab state ({e.Message}); `twill lab down` still removes the lab by its name prefix");
        }
    }

    /// <summary>Atomic: a reader never sees half a file (temp file + rename).</summary>
    public void Save(string path)
    {
        Twill.Os.PrivateFiles.WriteAtomically(path, JsonSerializer.Serialize(this, LabJsonContext.Default.LabState));
    }
}

/// <summary>A background process the lab started, identified by PID and its start time (so a reused PID is never killed).</summary>
public sealed class LabProcess
{
    public string Role { get; set; } = "";

    public int Pid { get; set; }

    /// <summary>Field 22 of /proc/PID/stat (clock ticks since boot) at start.</summary>
    public ulong StartTicks { get; set; }

    public string? Namespace { get; set; }

    public string? Log { get; set; }
}

public sealed class LabNodeState
{
    public string Name { get; set; } = "";

    public string Namespace { get; set; } = "";

    public string Address { get; set; } = "";

    public string? Subnet { get; set; }

    public int? HealthzPort { get; set; }
}

public sealed class LabPodState
{
    public string Name { get; set; } = "";

    public string Namespace { get; set; } = "";

    public string Node { get; set; } = "";

    public string? Address { get; set; }

    public int ContainerPort { get; set; }

    public int HostPort { get; set; }

    /// <summary>Whether CNI ADD completed (DEL runs for every pod that got so far as being started).</summary>
    public bool Added { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LabState))]
internal sealed partial class LabJsonContext : JsonSerializerContext;
