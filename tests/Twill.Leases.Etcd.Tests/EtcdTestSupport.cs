using System.Threading.Channels;
using Twill.Leases.Store;
using Twill.Testing;

namespace Twill.Leases.Etcd.Tests;

/// <summary>One etcd member shared by the tests of a class; each test works under its own prefix.</summary>
public sealed class EtcdFixture : IDisposable
{
    public EtcdServer Server { get; } = EtcdServer.Start();

    public void Dispose() => Server.Dispose();
}

internal static class Etcd
{
    private static int s_prefixes;

    /// <summary>A prefix no other test uses, shaped like Flannel's.</summary>
    public static string FreshPrefix() => $"/twill-test-{Environment.ProcessId}-{Interlocked.Increment(ref s_prefixes)}/network";

    public static EtcdLeaseStore Store(IEnumerable<string> endpoints, string prefix, Func<EtcdLeaseStoreOptions, EtcdLeaseStoreOptions>? tweak = null)
    {
        EtcdLeaseStoreOptions options = new()
        {
            Endpoints = [.. endpoints],
            Prefix = prefix,
            DialTimeout = TimeSpan.FromSeconds(2),
            RequestTimeout = TimeSpan.FromSeconds(5),
        };
        return new EtcdLeaseStore(tweak is null ? options : tweak(options));
    }

    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(15);
}

/// <summary>Runs a store's watch in the background and hands its changes over one at a time.</summary>
internal sealed class WatchRecorder : IAsyncDisposable
{
    private readonly Channel<LeaseChange> _changes = Channel.CreateUnbounded<LeaseChange>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;

    public WatchRecorder(ILeaseStore store, long afterRevision)
    {
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (LeaseChange change in store.WatchAsync(afterRevision, _stop.Token))
                {
                    await _changes.Writer.WriteAsync(change);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                _changes.Writer.TryComplete(e);
                return;
            }
            _changes.Writer.TryComplete();
        });
    }

    public async Task<LeaseChange> NextAsync(TimeSpan? timeout = null)
    {
        using CancellationTokenSource cts = new(timeout ?? Etcd.Timeout);
        try
        {
            return await _changes.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no watch event within {timeout ?? Etcd.Timeout}");
        }
    }

    /// <summary>The next change that is not a Put or Delete of one of <paramref name="ignoredKeys"/>.</summary>
    public async Task<LeaseChange> NextExceptAsync(IReadOnlySet<string> ignoredKeys, TimeSpan? timeout = null)
    {
        while (true)
        {
            LeaseChange c = await NextAsync(timeout);
            if (!ignoredKeys.Contains(c.Key))
            {
                return c;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _pump;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}

/// <summary>The golden fixture: etcd keys and values exactly as Flannel writes them.</summary>
internal static class FlannelFixture
{
    public static IReadOnlyList<(string Key, string Value)> Entries { get; } = Load();

    private static List<(string, string)> Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "etcd-lease.key-value.txt");
        List<string> lines = [.. File.ReadAllLines(path).Where(l => l.Length > 0 && !l.StartsWith('#'))];
        List<(string, string)> pairs = [];
        for (int i = 0; i + 1 < lines.Count; i += 2)
        {
            pairs.Add((lines[i], lines[i + 1]));
        }
        return pairs;
    }
}
