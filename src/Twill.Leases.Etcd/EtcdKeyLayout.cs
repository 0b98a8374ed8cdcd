using System.Text;
using Google.Protobuf;

namespace Twill.Leases.Etcd;

/// <summary>
/// Flannel's key layout under a prefix: <c>&lt;prefix&gt;/config</c> for the network configuration and
/// <c>&lt;prefix&gt;/subnets/&lt;key&gt;</c> for each lease. Flannel builds these with Go's
/// <c>path.Join</c>, so a trailing slash on the prefix is dropped here too.
/// </summary>
public sealed class EtcdKeyLayout
{
    public EtcdKeyLayout(string prefix)
    {
        string trimmed = prefix.TrimEnd('/');
        Prefix = trimmed;
        ConfigKey = trimmed + "/config";
        SubnetsPrefix = trimmed + "/subnets/";
        SubnetsPrefixBytes = ByteString.CopyFromUtf8(SubnetsPrefix);
        SubnetsRangeEnd = RangeEndOf(SubnetsPrefixBytes);
    }

    public string Prefix { get; }

    public string ConfigKey { get; }

    /// <summary>The directory of the leases, with its trailing slash so that <c>subnetsX</c> is not inside it.</summary>
    public string SubnetsPrefix { get; }

    internal ByteString SubnetsPrefixBytes { get; }

    /// <summary>etcd's range end for "every key with this prefix": the prefix with its last byte incremented.</summary>
    internal ByteString SubnetsRangeEnd { get; }

    public string SubnetKey(string key)
    {
        if (string.IsNullOrEmpty(key) || key.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"lease key '{key}': must be a subnet key such as 10.244.3.0-24, without '/'", nameof(key));
        }
        return SubnetsPrefix + key;
    }

    /// <summary>The lease key of an etcd key under the subnets directory, or null for any other key.</summary>
    public string? LeaseKeyOf(ByteString etcdKey)
    {
        string full = etcdKey.ToStringUtf8();
        return full.StartsWith(SubnetsPrefix, StringComparison.Ordinal) && full.Length > SubnetsPrefix.Length
            ? full[SubnetsPrefix.Length..]
            : null;
    }

    internal static ByteString RangeEndOf(ByteString prefix)
    {
        byte[] end = prefix.ToByteArray();
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }
        // Every byte 0xff: etcd reads "\0" as "to the end of the keyspace".
        return ByteString.CopyFrom(Encoding.UTF8.GetBytes("\0"));
    }
}
