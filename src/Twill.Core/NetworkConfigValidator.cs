using System.Net;
using System.Net.Sockets;

namespace Twill.Core;

/// <summary>Flannel's CheckNetworkConfig, reporting every violation instead of the first, plus checks Flannel lacks.</summary>
internal static class NetworkConfigValidator
{
    public static NetworkConfig Validate(NetworkConfig config, string source, List<ConfigError> errors, HashSet<string> badFields)
    {
        if (!config.EnableIPv4 && !config.EnableIPv6)
        {
            errors.Add(new(source, "EnableIPv4", "EnableIPv4 false and EnableIPv6 false: at least one address family must be enabled"));
        }
        NetworkConfig result = config;
        if (config.EnableIPv4)
        {
            Family f = CheckFamily(source, errors, badFields, new Family(
                "Network", config.Network, "SubnetLen", config.SubnetLen, "SubnetMin", config.SubnetMin, "SubnetMax", config.SubnetMax,
                DefaultLen: 24, MaxLen: 30, SmallestNetwork: 28, Bits: 32));
            result = result with { SubnetLen = f.Len, SubnetMin = f.Min, SubnetMax = f.Max };
        }
        if (config.EnableIPv6)
        {
            Family f = CheckFamily(source, errors, badFields, new Family(
                "IPv6Network", config.IPv6Network, "IPv6SubnetLen", config.IPv6SubnetLen, "IPv6SubnetMin", config.IPv6SubnetMin, "IPv6SubnetMax", config.IPv6SubnetMax,
                DefaultLen: 64, MaxLen: 126, SmallestNetwork: 124, Bits: 128));
            result = result with { IPv6SubnetLen = f.Len, IPv6SubnetMin = f.Min, IPv6SubnetMax = f.Max };
        }
        return result;
    }

    private sealed record Family(
        string NetworkField, IPNetwork? Network, string LenField, int Len, string MinField, IPAddress? Min, string MaxField, IPAddress? Max,
        int DefaultLen, int MaxLen, int SmallestNetwork, int Bits);

    private static Family CheckFamily(string source, List<ConfigError> errors, HashSet<string> badFields, Family f)
    {
        if (f.Network is not IPNetwork network)
        {
            if (!badFields.Contains(f.NetworkField))
            {
                errors.Add(new(source, f.NetworkField, f.NetworkField == "Network"
                    ? "Network is missing (e.g. \"Network\": \"10.244.0.0/16\"); set EnableIPv4 false for an IPv6-only network"
                    : "IPv6Network is missing but EnableIPv6 is true (e.g. \"IPv6Network\": \"fd00:10:244::/56\")"));
            }
            return f;
        }
        int prefix = network.PrefixLength;
        int len = f.Len;
        if (badFields.Contains(f.LenField))
        {
            return f;
        }
        if (len > 0)
        {
            // Each subnet needs room for the network, the bridge/tunnel addresses and a pod.
            bool ok = true;
            if (len > f.MaxLen)
            {
                errors.Add(new(source, f.LenField, $"{f.LenField} {len} is too long: the longest is /{f.MaxLen} (each node needs at least four addresses)"));
                ok = false;
            }
            // Flannel never hands out the first subnet, so the network must split into at least four.
            if (len < prefix + 2)
            {
                errors.Add(new(source, f.LenField, $"{f.LenField} {len} leaves {f.NetworkField} {network} fewer than four subnets (use /{prefix + 2} or longer)"));
                ok = false;
            }
            if (!ok)
            {
                return f;
            }
        }
        else if (prefix > f.SmallestNetwork)
        {
            errors.Add(new(source, f.NetworkField, $"{f.NetworkField} {network} is too small: the smallest usable network is /{f.SmallestNetwork}"));
            return f;
        }
        else
        {
            len = prefix <= f.DefaultLen - 2 ? f.DefaultLen : prefix + 2;
        }

        AddressFamily family = network.BaseAddress.AddressFamily;
        UInt128 size = SubnetMath.Size(len, family);
        UInt128 start = SubnetMath.ToNumber(network.BaseAddress);
        UInt128 end = SubnetMath.EndExclusive(network);
        // The first subnet is skipped: its .0 address would be the network's own address.
        IPAddress min = f.Min ?? SubnetMath.ToAddress(start + size, family);
        IPAddress max = f.Max ?? SubnetMath.ToAddress(end - size, family);
        bool bounds = true;
        foreach ((string field, IPAddress? given, IPAddress value) in new[] { (f.MinField, f.Min, min), (f.MaxField, f.Max, max) })
        {
            if (given is null || badFields.Contains(field))
            {
                continue;
            }
            if (!network.Contains(value))
            {
                errors.Add(new(source, field, $"{field} {value} is outside {f.NetworkField} {network}"));
                bounds = false;
            }
            else if (!SubnetMath.IsAligned(value, len))
            {
                errors.Add(new(source, field, $"{field} {value} is not on a /{len} boundary ({f.LenField} {len}; did you mean {new IPNetwork(value, len).BaseAddress}?)"));
                bounds = false;
            }
        }
        if (bounds && SubnetMath.ToNumber(min) > SubnetMath.ToNumber(max))
        {
            errors.Add(new(source, f.MinField, $"{f.MinField} {min} is after {f.MaxField} {max}: no subnet to hand out"));
        }
        return f with { Len = len, Min = min, Max = max };
    }
}
