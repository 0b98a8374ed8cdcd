namespace Twill.Testing;

/// <summary>
/// A test that needs root and network namespaces. It carries the trait <c>Category=Root</c> (so a
/// run can select or exclude it) and is skipped, with the reason, when the process is not root.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
[Xunit.Sdk.TraitDiscoverer("Twill.Testing.RootTraitDiscoverer", "Twill.Testing")]
public sealed class RootFactAttribute : FactAttribute, Xunit.Sdk.ITraitAttribute
{
    public RootFactAttribute()
    {
        if (!Privileges.IsRoot)
        {
            Skip = "needs root (network namespaces, netlink writes); run `sudo make test`";
        }
    }
}

/// <summary>The <see cref="RootFactAttribute"/> counterpart for theories.</summary>
[AttributeUsage(AttributeTargets.Method)]
[Xunit.Sdk.TraitDiscoverer("Twill.Testing.RootTraitDiscoverer", "Twill.Testing")]
public sealed class RootTheoryAttribute : TheoryAttribute, Xunit.Sdk.ITraitAttribute
{
    public RootTheoryAttribute()
    {
        if (!Privileges.IsRoot)
        {
            Skip = "needs root (network namespaces, netlink writes); run `sudo make test`";
        }
    }
}

public sealed class RootTraitDiscoverer : Xunit.Sdk.ITraitDiscoverer
{
    public IEnumerable<KeyValuePair<string, string>> GetTraits(Xunit.Abstractions.IAttributeInfo traitAttribute)
    {
        yield return new KeyValuePair<string, string>("Category", "Root");
    }
}

public static class Privileges
{
    public static bool IsRoot { get; } = Environment.UserName == "root" || GetEuid() == 0;

    private static uint GetEuid()
    {
        // /proc/self/status "Uid:\treal\teffective\t..." avoids a P/Invoke in a test helper.
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                string[] parts = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                return uint.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return uint.MaxValue;
    }
}
