using System.Net;
using Twill.Agent.Store;
using Twill.Leases;
using Twill.Leases.Kube;
using Twill.Leases.Store;

namespace Twill.Cli.Doctor;

/// <summary>The store, opened for inspection, and what it answered within the timeout.</summary>
internal sealed class StoreReading : IAsyncDisposable
{
    private ILeaseStore? _store;
    private StoreKind _kind;
    private string _description = "";
    private List<Lease>? _leases;
    private string? _error;
    private int? _status;

    /// <summary>The network configuration the store keeps (etcd's <c>&lt;prefix&gt;/config</c>), if any.</summary>
    public string? Config { get; private set; }

    /// <summary>Kubernetes: the node-public-ip the cluster set for this node, which wins over the underlay's.</summary>
    public IPAddress? ClusterPublicIP { get; private set; }

    public static async Task<StoreReading> OpenAsync(LeaseStoreOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        StoreReading r = new() { _kind = options.Kind, _description = Describe(options) };
        try
        {
            r._store = LeaseStoreKinds.Create(options, LeaseStoreUse.Inspect, _ => { });
            r._description = r._store.Description;
        }
        catch (FormatException e)
        {
            r._error = e.Message;
            return r;
        }
        using CancellationTokenSource deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            LeaseListing listing = await r._store.ListAsync(deadline.Token).ConfigureAwait(false);
            r._leases = [.. listing.Records.Select(rec => Lease.TryFromRecord(rec, out Lease? l, out _) ? l : null).OfType<Lease>()];
            r.Config = await r._store.GetNetworkConfigAsync(deadline.Token).ConfigureAwait(false);
            if (r._store is IAssignedSubnetStore assigned)
            {
                AssignedNodeState own = await assigned.ReadOwnStateAsync(deadline.Token).ConfigureAwait(false);
                r.ClusterPublicIP = own.PublicIP ?? own.PublicIPv6;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            r._error = $"no answer within {timeout.TotalSeconds:0.#} s";
        }
        catch (KubeApiException e)
        {
            r._error = e.Message;
            r._status = (int?)e.Status;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            r._error = e.Message;
        }
        return r;
    }

    public StoreObservation Observation(IPAddress? ownPublicIP) =>
        new(_kind, _description, _error is null ? _leases : null, _error, ownPublicIP) { HttpStatus = _status };

    public ValueTask DisposeAsync() => _store?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static string Describe(LeaseStoreOptions o) => o.Kind switch
    {
        StoreKind.File => "file:" + o.Directory,
        StoreKind.Etcd => "etcd:" + string.Join(',', o.Etcd.Endpoints),
        _ => "kube:" + (o.Kube.ApiUrl ?? o.Kube.KubeconfigFile ?? "in-cluster"),
    };
}
