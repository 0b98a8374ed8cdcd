using Twill.Core;

namespace Twill.Firewall;

/// <summary>The firewall's view of <see cref="InterfaceAddress"/>: which tool family (iptables or ip6tables) it belongs to.</summary>
public static class InterfaceAddressFamily
{
    extension(InterfaceAddress address)
    {
        public IpFamily Family => IpFamilyExtensions.FamilyOf(address.Address);
    }
}
