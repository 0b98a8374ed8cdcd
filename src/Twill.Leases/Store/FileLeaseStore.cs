using System.Globalization;
using System.Text;
using Twill.Os;

namespace Twill.Leases.Store;

/// <summary>
/// The embedded lease store: a directory that processes on one machine share (the lab runs all its
/// node agents on one). Layout:
/// <code>
/// DIR/config               optional net-conf.json (GetNetworkConfigAsync)
/// DIR/lock                 flock'ed around every write, so TryCreate is race-free across processes
/// DIR/revision             the store's revision counter, bumped by every write
/// DIR/leases/&lt;key&gt;.json  one record: {"key":..., "value":..., "expiration":..., "revision":N}
/// </code>
/// Every file is replaced atomically (temporary file + rename), so readers never see half a record
/// and need no lock. Watchers learn of changes from inotify (FileSystemWatcher) within milliseconds,
/// and a timer reports records that expire (FileLeaseStore.Watch.cs). A record's file format is
/// <see cref="FileLeaseRecordCodec"/>'s, its file name <see cref="FileLeaseKeys"/>'s.
/// </summary>
public sealed partial class FileLeaseStore : ILeaseStore
{
    private const string LeasesDirectory = "leases";
    private const string RecordSuffix = ".json";

    private readonly string _leases;
    private readonly string _lockPath;
    private readonly string _revisionPath;
    private readonly TimeProvider _time;

    public FileLeaseStore(string directory, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
        _leases = Path.Combine(Directory, LeasesDirectory);
        _lockPath = Path.Combine(Directory, "lock");
        _revisionPath = Path.Combine(Directory, "revision");
        _time = timeProvider ?? TimeProvider.System;
        // The store and its records are root's alone (0700/0600): a lease names every node's address.
        PrivateFiles.CreateDirectory(_leases);
    }

    /// <summary>The store's directory (absolute).</summary>
    public string Directory { get; }

    /// <summary>Where the optional network configuration lives: <c>DIR/config</c>.</summary>
    public string ConfigPath => Path.Combine(Directory, "config");

    public string Description => "file:" + Directory;

    public async Task<string?> GetNetworkConfigAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllTextAsync(ConfigPath, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Stores the network configuration (net-conf.json text) for every node of this store to read.</summary>
    public Task SetNetworkConfigAsync(string json, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(json);
        cancellationToken.ThrowIfCancellationRequested();
        WriteAtomically(ConfigPath, Encoding.UTF8.GetBytes(json));
        return Task.CompletedTask;
    }

    public async Task<LeaseListing> ListAsync(CancellationToken cancellationToken)
    {
        (LeaseListing listing, _) = await ScanAsync(cancellationToken).ConfigureAwait(false);
        return listing;
    }

    /// <summary>
    /// Every record, under the lock so the revision and the records agree exactly: the unexpired ones
    /// as a listing, plus those that expired recently. Records expired longer than
    /// <see cref="PurgeAfter"/> are deleted on the way, so the directory does not fill with dead leases.
    /// </summary>
    private async Task<(LeaseListing Listing, List<LeaseRecord> RecentlyExpired)> ScanAsync(CancellationToken cancellationToken)
    {
        using IDisposable held = await FileLock.AcquireAsync(_lockPath, cancellationToken).ConfigureAwait(false);
        DateTimeOffset now = _time.GetUtcNow();
        List<LeaseRecord> records = [];
        List<LeaseRecord> expired = [];
        List<string> dead = [];
        foreach (string path in RecordFiles())
        {
            if (ReadRecord(path) is not LeaseRecord record)
            {
                continue;
            }
            if (record.Expiration > now)
            {
                records.Add(record);
            }
            else if (record.Expiration > now - PurgeAfter)
            {
                expired.Add(record);
            }
            else
            {
                dead.Add(path);
            }
        }
        if (dead.Count > 0)
        {
            WriteRevision(ReadRevision() + 1);
            foreach (string path in dead)
            {
                File.Delete(path);
            }
        }
        records.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return (new LeaseListing(records, ReadRevision()), expired);
    }

    /// <summary>How long an expired record's file is kept (so a watch starting late can still report its expiry).</summary>
    public static TimeSpan PurgeAfter { get; } = TimeSpan.FromMinutes(10);

    public async Task<LeaseRecord?> TryCreateAsync(string key, string value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        CheckKey(key);
        ArgumentNullException.ThrowIfNull(value);
        using IDisposable held = await FileLock.AcquireAsync(_lockPath, cancellationToken).ConfigureAwait(false);
        if (ReadRecord(PathOf(key)) is LeaseRecord existing && existing.Expiration > _time.GetUtcNow())
        {
            return null;
        }
        return Write(key, value, ttl);
    }

    public async Task<LeaseRecord> UpdateAsync(string key, string value, TimeSpan ttl, long? expectedRevision, CancellationToken cancellationToken)
    {
        CheckKey(key);
        ArgumentNullException.ThrowIfNull(value);
        using IDisposable held = await FileLock.AcquireAsync(_lockPath, cancellationToken).ConfigureAwait(false);
        if (expectedRevision is long expected)
        {
            LeaseRecord? existing = ReadRecord(PathOf(key));
            if (existing is null || existing.Expiration <= _time.GetUtcNow())
            {
                throw new LeaseConflictException($"lease {key} no longer exists in {Description}");
            }
            if (existing.Revision != expected)
            {
                throw new LeaseConflictException($"lease {key} changed in {Description} (revision {existing.Revision}, expected {expected})");
            }
        }
        return Write(key, value, ttl);
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        CheckKey(key);
        using IDisposable held = await FileLock.AcquireAsync(_lockPath, cancellationToken).ConfigureAwait(false);
        string path = PathOf(key);
        LeaseRecord? existing = ReadRecord(path);
        if (existing is null)
        {
            return false;
        }
        WriteRevision(ReadRevision() + 1);
        File.Delete(path);
        return existing.Expiration > _time.GetUtcNow();
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    // --- records on disk ---

    private LeaseRecord Write(string key, string value, TimeSpan ttl)
    {
        long revision = ReadRevision() + 1;
        LeaseRecord record = new(key, value, _time.GetUtcNow() + ttl, revision);
        // The revision is bumped first: a crash in between leaves a gap, never a record newer than the counter.
        WriteRevision(revision);
        WriteAtomically(PathOf(key), FileLeaseRecordCodec.Encode(record));
        return record;
    }

    private IEnumerable<string> RecordFiles() =>
        System.IO.Directory.EnumerateFiles(_leases, "*" + RecordSuffix).Where(p => !Path.GetFileName(p).StartsWith('.'));

    private string PathOf(string key) => Path.Combine(_leases, FileLeaseKeys.Escape(key) + RecordSuffix);

    private long ReadRevision()
    {
        try
        {
            string text = File.ReadAllText(_revisionPath).Trim();
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long revision)
                ? revision
                : throw new InvalidDataException($"{_revisionPath}: '{text}' is not a revision number");
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }

    private void WriteRevision(long revision) =>
        WriteAtomically(_revisionPath, Encoding.ASCII.GetBytes(revision.ToString(CultureInfo.InvariantCulture) + "\n"));

    private static void WriteAtomically(string path, byte[] bytes)
    {
        string directory = Path.GetDirectoryName(path)!;
        string temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp");
        try
        {
            using (FileStream f = PrivateFiles.Create(temp, FileMode.Create))
            {
                f.Write(bytes);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// The largest record file read: etcd's own default request limit (1.5 MiB) rounded down. A lease
    /// is a few hundred bytes; a bigger file (a fault, or a hostile writer) is skipped as corrupt
    /// rather than read into the agent's memory.
    /// </summary>
    public const int MaxRecordBytes = 1024 * 1024;

    /// <summary>Reads one record file; null when it is gone, too big or unreadable (a corrupt file is skipped, not fatal).</summary>
    private static LeaseRecord? ReadRecord(string path)
    {
        byte[] bytes;
        try
        {
            using FileStream f = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            if (f.Length > MaxRecordBytes)
            {
                return null;
            }
            bytes = new byte[f.Length];
            f.ReadExactly(bytes);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        return FileLeaseRecordCodec.Decode(bytes);
    }

    private static void CheckKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Length > 200)
        {
            throw new ArgumentException($"lease key '{key[..40]}...' is too long for a file name", nameof(key));
        }
    }
}
