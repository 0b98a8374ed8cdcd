using Twill.Leases.Store;

namespace Twill.Leases;

/// <summary>How the lease manager leases, renews and retries.</summary>
public sealed record LeaseManagerOptions
{
    /// <summary>Flannel's lease TTL.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Renew this long before expiry (Flannel's --subnet-lease-renew-margin, 60 min).</summary>
    public TimeSpan RenewMargin { get; init; } = TimeSpan.FromMinutes(60);

    /// <summary>After a failed renewal, try again this much later (Flannel: 1 min).</summary>
    public TimeSpan RenewRetryInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>After the watch fails (store unreachable), re-list and watch again this much later.</summary>
    public TimeSpan WatchRetryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The subnet(s) of the previous run (from subnet.env); reused when still free and compatible.</summary>
    public LeaseSubnets? PreviousSubnets { get; init; }

    /// <summary>Give up acquiring after this many create conflicts in a row (another node won each race).</summary>
    public int MaxAcquireAttempts { get; init; } = 100;

    /// <summary>Random choice among free subnets (Flannel picks among the first 100 free); seedable for tests.</summary>
    public Random Random { get; init; } = Random.Shared;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The store's subnet assignment when the cluster assigns subnets (Kubernetes). Needed only when the
    /// store is wrapped (a decorator hides the store's own <see cref="IAssignedSubnetStore"/>); by default
    /// the store itself is asked.
    /// </summary>
    public IAssignedSubnetStore? AssignedSubnets { get; init; }

    /// <summary>
    /// Called with every other lease of each listing before a subnet is chosen, to revise what this
    /// node publishes (the agent takes a new VtepMAC when another node's lease already holds its one).
    /// </summary>
    public Func<IReadOnlyList<Lease>, LeaseAttrs, LeaseAttrs>? ReviseAttrs { get; init; }
}
