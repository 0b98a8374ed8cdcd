namespace Twill.Netlink;

/// <summary>
/// Reads and writes /proc/sys keys. /proc/sys/net belongs to the network namespace of the thread
/// that opens the file, so with a namespace the file is opened on a dedicated thread inside it.
/// </summary>
public static class Sysctl
{
    /// <summary>`sysctl KEY` (key as "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.1/proxy_arp"); trimmed.</summary>
    public static string Read(NetNs? ns, string key)
    {
        string path = PathOf(key);
        return ns is null ? ReadFile(path) : ns.Run(() => ReadFile(path));
    }

    /// <summary>`sysctl -w KEY=VALUE`.</summary>
    public static void Write(NetNs? ns, string key, string value)
    {
        string path = PathOf(key);
        if (ns is null)
        {
            WriteFile(path, value);
        }
        else
        {
            ns.Run(() => WriteFile(path, value));
        }
    }

    /// <summary>The /proc/sys path for a key; a key with '/' is taken as a path (interface names may hold dots).</summary>
    public static string PathOf(string key)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Contains("..", StringComparison.Ordinal))
        {
            throw new ArgumentException($"invalid sysctl key '{key}'", nameof(key));
        }
        string relative = key.Contains('/', StringComparison.Ordinal) ? key.TrimStart('/') : key.Replace('.', '/');
        return "/proc/sys/" + relative;
    }

    private static string ReadFile(string path) => File.ReadAllText(path).Trim();

    private static void WriteFile(string path, string value)
    {
        // One write(2) of the whole value, as sysctl(8) does; procfs parses it in one go.
        using FileStream fs = new(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(value + "\n");
        fs.Write(bytes);
    }
}
