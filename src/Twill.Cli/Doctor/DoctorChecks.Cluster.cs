using System.Globalization;
using Twill.Agent.Store;
using Twill.Backends;
using Twill.Core;
using Twill.Leases;

namespace Twill.Cli.Doctor;

/// <summary>The cluster checks: the lease store answers, this node holds a lease, and Windows nodes could join.</summary>
public static partial class DoctorChecks
{
    private static IEnumerable<Finding> CheckCluster(NodeObservation o, BackendSettings? settings)
    {
        yield return CheckStore(o.Store);
        if (o.Store.Error is null)
        {
            yield return CheckLease(o);
        }
        if (o.Settings.Windows && settings is not null)
        {
            yield return CheckWindows(o, settings);
        }
    }

    private static Finding CheckStore(StoreObservation s)
    {
        if (s.Error is null)
        {
            return Finding.Ok(StoreCheck, string.Create(CultureInfo.InvariantCulture, $"{s.Description}: {s.Leases?.Count ?? 0} lease(s)"));
        }
        string fix = s.Kind switch
        {
            StoreKind.File => "check --store-dir: the directory the nodes share (the agent creates it when it first starts)",
            StoreKind.Etcd => "check --etcd-endpoints and the --etcd-* TLS flags, and that etcd answers: etcdctl --endpoints=URL endpoint health",
            _ => s.HttpStatus switch
            {
                401 => "the API server refused the token: check the service account token (/var/run/secrets/kubernetes.io/serviceaccount/token) or --kubeconfig-file",
                403 => "the token may not list nodes: apply the ClusterRole and binding of `twill manifest`",
                _ => "check --kube-api-url / --kubeconfig-file (in a pod: KUBERNETES_SERVICE_HOST and the service account)",
            },
        };
        string status = s.HttpStatus == 401 ? "401 Unauthorized: " : "";
        return Finding.Manual(StoreCheck, Verdict.Fail, $"{s.Description}: {status}{s.Error}", fix);
    }

    private static Finding CheckLease(NodeObservation o)
    {
        StoreObservation s = o.Store;
        if (s.Own is not Lease lease)
        {
            string who = s.OwnPublicIP is null ? "this node (its public IP is not known: see the underlay check)" : $"this node's public IP {s.OwnPublicIP}";
            return Finding.Manual(LeaseCheck, Verdict.Warn, $"no lease in {s.Description} carries {who}: the agent has not run here, or runs with another --public-ip",
                "start the agent (kubectl -n kube-twill rollout restart ds/twill); if it runs with --public-ip, give the doctor the same");
        }
        string expires = lease.Expiration == DateTimeOffset.MaxValue ? "assigned by the cluster" : "expires in " + LeasesCommand.ExpiresIn(lease.Expiration, s.Now);
        string type = o.Config?.Backend.Type ?? "";
        if (type.Length > 0 && lease.Attrs.BackendType != type)
        {
            return Finding.Manual(LeaseCheck, Verdict.Warn, $"{lease.Subnets} is leased for backend {lease.Attrs.BackendType}, but {o.ConfigSource} says {type}",
                "restart the agent: it renews the lease with the configured backend");
        }
        return Finding.Ok(LeaseCheck, $"{lease.Subnets} for {s.OwnPublicIP} ({lease.Attrs.BackendType}, {expires})");
    }

    private static Finding CheckWindows(NodeObservation o, BackendSettings s)
    {
        if (s.Kind != BackendKind.Vxlan)
        {
            return Finding.Ok(WindowsCheck, "host-gw: Windows nodes use l2bridge (same L2 segment)");
        }
        List<string> wrong = [];
        if (s.Vni < BackendSettings.WindowsVni)
        {
            wrong.Add(string.Create(CultureInfo.InvariantCulture, $"VNI {s.Vni} (Windows accepts {BackendSettings.WindowsVni} or above)"));
        }
        if (s.EffectivePort != BackendSettings.WindowsPort)
        {
            wrong.Add(string.Create(CultureInfo.InvariantCulture, $"port {s.EffectivePort} (Windows listens on {BackendSettings.WindowsPort} only)"));
        }
        if (s.DirectRouting)
        {
            wrong.Add("DirectRouting (win-overlay programs no direct routes)");
        }
        if (s.Gbp)
        {
            wrong.Add("GBP (Windows' VXLAN does not carry it)");
        }
        if (wrong.Count == 0)
        {
            return Finding.Ok(WindowsCheck, string.Create(CultureInfo.InvariantCulture, $"VNI {s.Vni} and UDP {s.EffectivePort}: Windows nodes can join"));
        }
        return Finding.Manual(WindowsCheck, Verdict.Fail, $"Windows nodes cannot join: {string.Join("; ", wrong)}",
            string.Create(CultureInfo.InvariantCulture,
                $"set \"VNI\": {BackendSettings.WindowsVni}, \"Port\": {BackendSettings.WindowsPort} (no DirectRouting, no GBP) in {o.ConfigSource} on every node at once (twill manifest --windows renders it)"));
    }
}
