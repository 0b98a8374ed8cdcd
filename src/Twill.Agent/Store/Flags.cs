namespace Twill.Agent.Store;

/// <summary>Where a setting's value came from, lowest precedence first: the command line beats the environment beats the default.</summary>
public enum SettingSource
{
    /// <summary>Nothing given: the built-in default.</summary>
    Default,

    /// <summary>The environment variable <c>TWILL_&lt;FLAG&gt;</c>.</summary>
    Environment,

    /// <summary>The flag on the command line.</summary>
    CommandLine,
}

/// <summary>One flag: its name, whether it is a bare boolean, whether it may repeat, its help line, and how its value sets the options.</summary>
public sealed record FlagSpec<T>(string Name, bool IsBool, bool Repeatable, string Help, Func<T, string, T> Set)
{
    /// <summary>The environment variable that stands in for the flag (upper case, '-' → '_'), as flanneld's <c>FLANNELD_*</c>.</summary>
    public string EnvironmentName => "TWILL_" + Name.ToUpperInvariant().Replace('-', '_');

    /// <summary>Wraps the flag so it sets a part of a larger options record (the store's flags inside the agent's).</summary>
    public FlagSpec<TOuter> Lift<TOuter>(Func<TOuter, T> get, Func<TOuter, T, TOuter> with) =>
        new(Name, IsBool, Repeatable, Help, (o, v) => with(o, Set(get(o), v)));
}

/// <summary>A flag as it was given on a command line: its name and its value (<c>"true"</c> for a bare boolean).</summary>
public readonly record struct GivenFlag(string Name, string Value);

/// <summary>
/// The one precedence of every Twill flag: the command line, then <c>TWILL_&lt;FLAG&gt;</c> for each
/// flag not on the command line, then the default (what the options already hold). Pure: the
/// environment is passed in. Records where each flag that was set came from, so a contradiction
/// between two flags can name both sources.
/// </summary>
public static class FlagResolver
{
    public static T Resolve<T>(T defaults, IReadOnlyList<FlagSpec<T>> specs, IEnumerable<GivenFlag> commandLine,
        IReadOnlyDictionary<string, string> environment, IDictionary<string, SettingSource> sources)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(sources);
        T options = defaults;
        foreach (GivenFlag given in commandLine)
        {
            FlagSpec<T> spec = Find(specs, given.Name) ?? throw new FormatException($"unknown flag --{given.Name}");
            options = spec.Set(options, given.Value);
            sources[spec.Name] = SettingSource.CommandLine;
        }
        foreach (FlagSpec<T> spec in specs)
        {
            if (!sources.ContainsKey(spec.Name) && environment.TryGetValue(spec.EnvironmentName, out string? env) && env.Length > 0)
            {
                // Repeatable flags take a comma-separated list from the environment, as flanneld's do.
                foreach (string v in spec.Repeatable ? env.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [env])
                {
                    options = spec.Set(options, v);
                }
                sources[spec.Name] = SettingSource.Environment;
            }
        }
        return options;
    }

    public static FlagSpec<T>? Find<T>(IReadOnlyList<FlagSpec<T>> specs, string name)
    {
        foreach (FlagSpec<T> spec in specs)
        {
            if (spec.Name == name)
            {
                return spec;
            }
        }
        return null;
    }

    /// <summary>How a usage error names a flag: <c>--store file (command line)</c>, <c>TWILL_ETCD_ENDPOINTS (environment)</c>.</summary>
    public static string Describe<T>(FlagSpec<T> spec, SettingSource source, string? value = null) => source switch
    {
        SettingSource.CommandLine => $"--{spec.Name}{(value is null ? "" : " " + value)} (command line)",
        SettingSource.Environment => $"{spec.EnvironmentName}{(value is null ? "" : "=" + value)} (environment)",
        _ => $"--{spec.Name} (default)",
    };

    /// <summary>The flags as help text, one per line.</summary>
    public static string Help<T>(IEnumerable<FlagSpec<T>> specs) =>
        string.Join('\n', specs.Select(s => $"  {("--" + s.Name + (s.IsBool ? "" : " V")),-30} {s.Help}"));
}
