using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;

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
/// and a timer reports records that expire.
/// </summary>
public sealed class FileLeaseStore : ILeaseStore
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
        System.IO.Directory.CreateDirectory(_leases);
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

    /// <summary>
    /// Changes after <paramref name="afterRevision"/>. The directory keeps no history: when it has
    /// moved past <paramref name="afterRevision"/> by the time the watch starts, the watch begins with
    /// a <see cref="LeaseChangeKind.Resync"/> (as the contract allows), then reports live changes.
    /// </summary>
    public async IAsyncEnumerable<LeaseChange> WatchAsync(long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Channel<Notice> notices = Channel.CreateUnbounded<Notice>(new UnboundedChannelOptions { SingleReader = true });
        using FileSystemWatcher watcher = new(_leases)
        {
            IncludeSubdirectories = false,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite,
            InternalBufferSize = 256 * 1024,
        };
        watcher.Created += (_, e) => notices.Writer.TryWrite(new Notice(e.Name, Overflow: false));
        watcher.Changed += (_, e) => notices.Writer.TryWrite(new Notice(e.Name, Overflow: false));
        watcher.Deleted += (_, e) => notices.Writer.TryWrite(new Notice(e.Name, Overflow: false));
        watcher.Renamed += (_, e) => notices.Writer.TryWrite(new Notice(e.Name, Overflow: false));
        watcher.Error += (_, _) => notices.Writer.TryWrite(new Notice(null, Overflow: true));
        watcher.EnableRaisingEvents = true;

        // key → what the watcher last reported as live (revision, expiration).
        Dictionary<string, (long Revision, DateTimeOffset Expiration)> live = new(StringComparer.Ordinal);
        (LeaseListing start, List<LeaseRecord> recentlyExpired) = await ScanAsync(cancellationToken).ConfigureAwait(false);
        foreach (LeaseRecord r in start.Records)
        {
            live[r.Key] = (r.Revision, r.Expiration);
        }
        long delivered = afterRevision;
        if (start.Revision != afterRevision)
        {
            delivered = start.Revision;
            yield return new LeaseChange(LeaseChangeKind.Resync, "", null, start, start.Revision);
        }
        else
        {
            // Records that expired between the caller's listing and now: the caller may still hold them.
            foreach (LeaseRecord r in recentlyExpired.OrderBy(r => r.Expiration))
            {
                yield return new LeaseChange(LeaseChangeKind.Delete, r.Key, null, null, delivered);
            }
        }

        while (true)
        {
            // Report what expired, then sleep until the next notice or the next expiry.
            DateTimeOffset now = _time.GetUtcNow();
            List<string> expired = [.. live.Where(kv => kv.Value.Expiration <= now).Select(kv => kv.Key)];
            expired.Sort(StringComparer.Ordinal);
            foreach (string key in expired)
            {
                live.Remove(key);
                yield return new LeaseChange(LeaseChangeKind.Delete, key, null, null, delivered);
            }
            TimeSpan wait = live.Count == 0 ? Timeout.InfiniteTimeSpan : live.Values.Min(v => v.Expiration) - now;
            if (wait != Timeout.InfiniteTimeSpan && wait < TimeSpan.Zero)
            {
                wait = TimeSpan.Zero;
            }
            if (!notices.Reader.TryPeek(out _))
            {
                using CancellationTokenSource timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (wait != Timeout.InfiniteTimeSpan)
                {
                    // Clamp: CancelAfter rejects very long spans (a 24 h TTL fits, but be safe).
                    timer.CancelAfter(wait > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : wait + TimeSpan.FromMilliseconds(1));
                }
                try
                {
                    await notices.Reader.WaitToReadAsync(timer.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    continue; // an expiry is due
                }
            }

            // Drain every pending notice; several notices for one file collapse into one read.
            HashSet<string> names = new(StringComparer.Ordinal);
            bool overflow = false;
            while (notices.Reader.TryRead(out Notice notice))
            {
                if (notice.Overflow)
                {
                    overflow = true;
                }
                else if (notice.Name is string name && name.EndsWith(RecordSuffix, StringComparison.Ordinal) && !name.StartsWith('.'))
                {
                    names.Add(name);
                }
            }
            if (overflow)
            {
                // inotify dropped events: the only safe thing is a full, fresh listing.
                LeaseListing listing = await ListAsync(cancellationToken).ConfigureAwait(false);
                live.Clear();
                foreach (LeaseRecord r in listing.Records)
                {
                    live[r.Key] = (r.Revision, r.Expiration);
                }
                delivered = listing.Revision;
                yield return new LeaseChange(LeaseChangeKind.Resync, "", null, listing, listing.Revision);
                continue;
            }

            List<LeaseChange> changes = [];
            foreach (string name in names)
            {
                string? key = UnescapeKey(name[..^RecordSuffix.Length]);
                if (key is null)
                {
                    continue;
                }
                LeaseRecord? record = ReadRecord(Path.Combine(_leases, name));
                if (record is not null && record.Expiration > _time.GetUtcNow())
                {
                    if (live.TryGetValue(key, out var known) && known.Revision >= record.Revision)
                    {
                        continue; // already reported (or older than what we have)
                    }
                    if (!live.ContainsKey(key) && record.Revision <= delivered)
                    {
                        continue; // part of the listing the caller started from
                    }
                    live[key] = (record.Revision, record.Expiration);
                    changes.Add(new LeaseChange(LeaseChangeKind.Put, key, record, null, record.Revision));
                }
                else if (live.Remove(key))
                {
                    changes.Add(new LeaseChange(LeaseChangeKind.Delete, key, null, null, Math.Max(ReadRevision(), delivered)));
                }
            }
            changes.Sort((a, b) => a.Revision.CompareTo(b.Revision));
            foreach (LeaseChange change in changes)
            {
                delivered = Math.Max(delivered, change.Revision);
                yield return change;
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private readonly record struct Notice(string? Name, bool Overflow);

    // --- records on disk ---

    private LeaseRecord Write(string key, string value, TimeSpan ttl)
    {
        long revision = ReadRevision() + 1;
        LeaseRecord record = new(key, value, _time.GetUtcNow() + ttl, revision);
        // The revision is bumped first: a crash in between leaves a gap, never a record newer than the counter.
        WriteRevision(revision);
        WriteAtomically(PathOf(key), Encode(record));
        return record;
    }

    private IEnumerable<string> RecordFiles() =>
        System.IO.Directory.EnumerateFiles(_leases, "*" + RecordSuffix).Where(p => !Path.GetFileName(p).StartsWith('.'));

    private string PathOf(string key) => Path.Combine(_leases, EscapeKey(key) + RecordSuffix);

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
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Reads one record file; null when it is gone or unreadable (a corrupt file is skipped, not fatal).</summary>
    private static LeaseRecord? ReadRecord(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        return Decode(bytes);
    }

    internal static byte[] Encode(LeaseRecord record)
    {
        using MemoryStream stream = new();
        // Relaxed escaping keeps '&' and the JSON value readable in the file (it is not HTML).
        using (Utf8JsonWriter w = new(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("key", record.Key);
            w.WriteString("value", record.Value);
            w.WriteString("expiration", record.Expiration.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteNumber("revision", record.Revision);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    internal static LeaseRecord? Decode(byte[] bytes)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("key", out JsonElement key) && key.ValueKind == JsonValueKind.String
                && root.TryGetProperty("value", out JsonElement value) && value.ValueKind == JsonValueKind.String
                && root.TryGetProperty("expiration", out JsonElement expiration) && expiration.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(expiration.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out DateTimeOffset when)
                && root.TryGetProperty("revision", out JsonElement revision) && revision.TryGetInt64(out long rev))
            {
                return new LeaseRecord(key.GetString()!, value.GetString()!, when, rev);
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // --- key escaping: keys become file names; anything outside a safe set is %XX-encoded ---

    internal static string EscapeKey(string key)
    {
        StringBuilder sb = new(key.Length + 8);
        foreach (byte b in Encoding.UTF8.GetBytes(key))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or ':' or '&' or '_' || (c == '.' && sb.Length > 0))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    internal static string? UnescapeKey(string name)
    {
        List<byte> bytes = new(name.Length);
        for (int i = 0; i < name.Length; i++)
        {
            if (name[i] == '%')
            {
                if (i + 2 >= name.Length || !byte.TryParse(name.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                {
                    return null;
                }
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.Add((byte)name[i]);
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
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
