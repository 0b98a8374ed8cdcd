using System.Net;
using System.Text;
using Twill.Os;

namespace Twill.Cni.Plugins.HostLocal;

/// <summary>
/// host-local's state, byte for byte the reference's disk backend, so that a node can switch
/// between the two implementations: <c>&lt;dataDir&gt;/&lt;network&gt;/</c> holds one file per
/// address named by the address and containing <c>&lt;containerID&gt;\r\n&lt;ifname&gt;</c>, a
/// <c>last_reserved_ip.&lt;rangeset index&gt;</c> per range set, and a <c>lock</c> file that every
/// operation holds with flock(LOCK_EX) (the same lock the reference takes).
/// </summary>
public sealed class DiskStore : IDisposable
{
    public const string LineBreak = "\r\n";
    private const string LastIpPrefix = "last_reserved_ip.";
    private const string LockName = "lock";

    private readonly FileLock _lock;

    public string Directory { get; }

    private DiskStore(string directory, FileLock held)
    {
        Directory = directory;
        _lock = held;
    }

    /// <summary>Opens (creating) the network's directory and takes the lock; Dispose releases it.</summary>
    public static DiskStore OpenLocked(string dataDir, string network)
    {
        string dir = Path.Combine(dataDir, network);
        // 0700 and 0600 below, stricter than the reference's 0755/0644 (only root, the runtime, reads them).
        PrivateFiles.CreateDirectory(dir);
        string lockPath = Path.Combine(dir, LockName);
        FileLock held;
        try
        {
            held = FileLock.Acquire(lockPath, (int)PrivateFiles.FileMode, OpenFlags.ReadOnly);
        }
        catch (OsException e)
        {
            throw new IOException($"{e.Operation} {lockPath}: errno {e.Errno}");
        }
        return new DiskStore(dir, held);
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>Claims <paramref name="ip"/> for the attachment; false when another holds it.</summary>
    public bool Reserve(string id, string ifName, IPAddress ip, int rangeSetIndex)
    {
        string path = Path.Combine(Directory, ip.ToString());
        try
        {
            using FileStream f = new(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = PrivateFiles.FileMode,
            });
            f.Write(Encoding.UTF8.GetBytes(id.Trim() + LineBreak + ifName));
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
        WriteFile(Path.Combine(Directory, LastIpPrefix + rangeSetIndex.ToString(System.Globalization.CultureInfo.InvariantCulture)), ip.ToString());
        return true;
    }

    public IPAddress? LastReservedIp(int rangeSetIndex)
    {
        string path = Path.Combine(Directory, LastIpPrefix + rangeSetIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            return IPAddress.TryParse(File.ReadAllText(path).Trim(), out IPAddress? a) ? a : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The addresses held by (id, ifname).</summary>
    public List<IPAddress> GetById(string id, string ifName)
    {
        string match = id.Trim() + LineBreak + ifName;
        List<IPAddress> result = [];
        foreach ((string path, string content) in Allocations())
        {
            if (content == match && IPAddress.TryParse(Path.GetFileName(path), out IPAddress? a))
            {
                result.Add(a);
            }
        }
        return result;
    }

    /// <summary>Frees every address of (id, ifname); idempotent.</summary>
    public int ReleaseById(string id, string ifName)
    {
        string match = id.Trim() + LineBreak + ifName;
        int n = 0;
        foreach ((string path, string content) in Allocations())
        {
            if (content == match)
            {
                File.Delete(path);
                n++;
            }
        }
        return n;
    }

    public void Release(IPAddress ip) => File.Delete(Path.Combine(Directory, ip.ToString()));

    /// <summary>Every allocation file with its trimmed content (lock and last_reserved_ip files skipped).</summary>
    public IEnumerable<(string Path, string Content)> Allocations()
    {
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory))
        {
            string name = Path.GetFileName(path);
            if (name == LockName || name.StartsWith(LastIpPrefix, StringComparison.Ordinal))
            {
                continue;
            }
            string content;
            try
            {
                content = File.ReadAllText(path).Trim();
            }
            catch (IOException)
            {
                continue;
            }
            yield return (path, content);
        }
    }

    private static void WriteFile(string path, string text)
    {
        using FileStream f = new(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = PrivateFiles.FileMode,
        });
        f.Write(Encoding.UTF8.GetBytes(text));
    }
}
