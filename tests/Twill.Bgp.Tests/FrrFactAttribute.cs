using Twill.Testing;

namespace Twill.Bgp.Tests;

/// <summary>
/// A root test that also needs FRR (Debian `frr`): Category=Root like <see cref="RootFactAttribute"/>,
/// skipped with the reason when not root or when /usr/lib/frr/bgpd is missing.
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
        else if (!TorLab.FrrInstalled)
        {
            Skip = "FRR is not installed (Debian package frr; build/install-deps.sh installs it)";
        }
    }
}
