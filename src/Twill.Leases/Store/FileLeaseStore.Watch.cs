using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Twill.Leases.Store;

/// <summary>The file store's watch: inotify notices for the leases directory, and a timer for expiries.</summary>
public sealed partial class FileLeaseStore
{
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
                string? key = FileLeaseKeys.Unescape(name[..^RecordSuffix.Length]);
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

    private readonly record struct Notice(string? Name, bool Overflow);
}
