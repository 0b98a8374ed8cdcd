namespace Twill.Agent.Store;

/// <summary>
/// The flags that choose and configure the lease store, shared by every command that opens one
/// (<c>twill agent</c>, <c>twill leases list</c>): <c>--store</c> and each kind's own flags (see
/// <see cref="LeaseStoreKinds"/>), resolved with the one precedence of <see cref="FlagResolver"/>.
/// The kind is <c>--store</c> when given, else the kind a selecting flag implies (<c>--etcd-endpoints</c>
/// → etcd), else file. A selecting flag that implies another kind than <c>--store</c> names (or than
/// another selecting flag implies) is a usage error naming both and where each came from, whatever
/// the order and whether each came from the command line or the environment.
/// </summary>
public static class LeaseStoreFlags
{
    public const string StoreFlag = "store";

    public static IReadOnlyList<FlagSpec<LeaseStoreOptions>> Specs { get; } =
    [
        new(StoreFlag, false, false, $"lease store: {string.Join(", ", LeaseStoreKinds.All.Select(k => k.Name))} (default file)",
            (o, v) => o with { Kind = ParseKind(v) }),
        .. LeaseStoreKinds.All.SelectMany(k => k.Flags),
    ];

    /// <summary>The store options from the store flags given on a command line and the environment.</summary>
    public static LeaseStoreOptions Resolve(IEnumerable<GivenFlag> commandLine, IReadOnlyDictionary<string, string> environment)
    {
        Dictionary<string, SettingSource> sources = new(StringComparer.Ordinal);
        LeaseStoreOptions options = FlagResolver.Resolve(new LeaseStoreOptions(), Specs, commandLine, environment, sources);
        return SelectKind(options, sources);
    }

    /// <summary>
    /// Settles the kind once every store flag is resolved (<paramref name="sources"/>: where each flag
    /// that was set came from). Throws <see cref="FormatException"/> on a contradiction.
    /// </summary>
    public static LeaseStoreOptions SelectKind(LeaseStoreOptions options, IReadOnlyDictionary<string, SettingSource> sources)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sources);
        (ILeaseStoreKind Kind, string Named)? chosen = null;
        if (sources.TryGetValue(StoreFlag, out SettingSource storeSource))
        {
            ILeaseStoreKind kind = LeaseStoreKinds.For(options.Kind);
            chosen = (kind, FlagResolver.Describe(Specs[0], storeSource, kind.Name));
        }
        foreach (ILeaseStoreKind kind in LeaseStoreKinds.All)
        {
            if (kind.SelectedBy is not string flag || !sources.TryGetValue(flag, out SettingSource source))
            {
                continue;
            }
            string named = FlagResolver.Describe(FlagResolver.Find(Specs, flag)!, source);
            if (chosen is { } c && c.Kind != kind)
            {
                throw new FormatException($"{c.Named} contradicts {named} (which means --store {kind.Name})");
            }
            chosen ??= (kind, named);
        }
        return options with { Kind = chosen?.Kind.Kind ?? StoreKind.File };
    }

    private static StoreKind ParseKind(string v) =>
        LeaseStoreKinds.All.FirstOrDefault(k => k.Name == v)?.Kind
        ?? throw new FormatException($"--store: '{v}' is not a store ({string.Join(", ", LeaseStoreKinds.All.Select(k => k.Name))})");
}
