using System.CommandLine;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Cli;

/// <summary>
/// <c>twill tor routes --format frr|eos|nxos|ios|junos|linux [--watch]</c>: the static routes of the
/// L3 top-of-rack topology (every leased pod subnet via its node's public IP, Windows nodes too), from
/// the current leases of whichever store the shared store flags name; <c>--watch</c> then prints the
/// additions and removals as leases come and go.
/// </summary>
internal static class TorCommand
{
    public static Command Create() => new("tor", "The L3 top-of-rack topology: what the switch needs.") { Routes() };

    private static Command Routes()
    {
        LeaseStoreOptionsBinding flags = new();
        Option<string> format = new("--format") { Description = "linux, frr, eos, nxos, ios or junos", DefaultValueFactory = _ => "linux" };
        Option<bool> watch = new("--watch") { Description = "Keep running and print the changes as nodes come and go." };
        Command routes = new("routes", "Print the ToR's static routes: each node's pod subnet via its public IP.") { format, watch };
        flags.AddTo(routes);
        routes.SetAction((parse, cancellationToken) =>
        {
            TorRouteFormat dialect;
            try
            {
                dialect = TorRouteRenderer.ParseFormat(parse.GetValue(format) ?? "linux");
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"twill tor routes: {e.Message}");
                return Task.FromResult(ExitCodes.Usage);
            }
            return flags.WithListingAsync(parse, "tor routes", async (store, listing) =>
            {
                Dictionary<string, IReadOnlyList<TorRoute>> current = Current(listing, Warn);
                Print(TorRouteRenderer.Add(dialect, current.Values.SelectMany(r => r)));
                if (!parse.GetValue(watch))
                {
                    return 0;
                }
                try
                {
                    await foreach (LeaseChange change in store.WatchAsync(listing.Revision, cancellationToken).ConfigureAwait(false))
                    {
                        Dictionary<string, IReadOnlyList<TorRoute>> next = After(current, change, Warn);
                        HashSet<TorRoute> before = [.. current.Values.SelectMany(r => r)];
                        HashSet<TorRoute> after = [.. next.Values.SelectMany(r => r)];
                        Print(TorRouteRenderer.Remove(dialect, before.Except(after)));
                        Print(TorRouteRenderer.Add(dialect, after.Except(before)));
                        current = next;
                    }
                }
                catch (OperationCanceledException)
                {
                }
                return 0;
            }, cancellationToken);
        });
        return routes;
    }

    private static void Warn(string problem) => Console.Error.WriteLine("twill tor routes: warning: " + problem);

    private static void Print(IReadOnlyList<string> lines)
    {
        foreach (string line in lines)
        {
            Console.Out.WriteLine(line);
        }
        Console.Out.Flush();
    }

    /// <summary>Each unexpired, readable lease's routes by record key; unreadable ones are named on stderr.</summary>
    internal static Dictionary<string, IReadOnlyList<TorRoute>> Current(LeaseListing listing, Action<string> warn)
    {
        Dictionary<string, IReadOnlyList<TorRoute>> routes = [];
        foreach (LeaseRecord record in listing.Records)
        {
            Set(routes, record.Key, record, warn);
        }
        return routes;
    }

    /// <summary><paramref name="routes"/> after one watch event (a copy: the caller diffs it against the old map).</summary>
    internal static Dictionary<string, IReadOnlyList<TorRoute>> After(Dictionary<string, IReadOnlyList<TorRoute>> routes, LeaseChange change, Action<string> warn)
    {
        if (change.Kind == LeaseChangeKind.Resync)
        {
            return Current(change.Listing!, warn);
        }
        Dictionary<string, IReadOnlyList<TorRoute>> next = new(routes);
        Set(next, change.Key, change.Kind == LeaseChangeKind.Delete ? null : change.Record, warn);
        return next;
    }

    private static void Set(Dictionary<string, IReadOnlyList<TorRoute>> routes, string key, LeaseRecord? record, Action<string> warn)
    {
        routes.Remove(key);
        if (record is null || record.Expiration <= DateTimeOffset.UtcNow)
        {
            return;
        }
        if (!Lease.TryFromRecord(record, out Lease? lease, out string? error))
        {
            warn($"lease {key} unreadable, no route: {error}");
            return;
        }
        if (lease.Subnets.IPv4 is not null && !lease.Attrs.HasPublicIP)
        {
            warn($"lease {key} has no PublicIP: no route for {lease.Subnets.IPv4}");
        }
        if (lease.Subnets.IPv6 is not null && lease.Attrs.PublicIPv6 is null)
        {
            warn($"lease {key} has no PublicIPv6: no route for {lease.Subnets.IPv6}");
        }
        routes[key] = [.. TorRoute.Of(lease)];
    }
}
