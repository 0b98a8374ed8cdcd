using System.Net;
using System.Text.Json;
using Twill.Cni.Protocol;

namespace Twill.Cni.Plugins.HostLocal;

/// <summary>host-local IPAM: addresses from local range sets, state on disk (see <see cref="DiskStore"/>).</summary>
public sealed class HostLocalPlugin : ICniPlugin
{
    public string Type => "host-local";

    public CniResult Add(CniInvocation call)
    {
        HostLocalConfig conf = HostLocalConfig.Load(call);
        CniResult result = new();
        if (conf.ResolvConf is not null)
        {
            result.Dns = ResolvConf.Parse(conf.ResolvConf);
        }
        using DiskStore store = DiskStore.OpenLocked(conf.DataDir, conf.Name);
        List<IPAddress> requested = [.. conf.RequestedIps];
        List<Allocator> done = [];
        try
        {
            for (int i = 0; i < conf.RangeSets.Count; i++)
            {
                Allocator allocator = new(conf.RangeSets[i], store, i);
                IPAddress? want = requested.FirstOrDefault(conf.RangeSets[i].Contains);
                if (want is not null)
                {
                    requested.Remove(want);
                }
                try
                {
                    result.Ips.Add(allocator.Get(call.ContainerId, call.IfName, want));
                }
                catch (CniException e)
                {
                    throw new CniException(e.Code, $"failed to allocate for range {i}: {e.Message}", e.Details);
                }
                done.Add(allocator);
            }
            if (requested.Count > 0)
            {
                throw new CniException(CniErrorCode.Internal, "failed to allocate all requested IPs: " + string.Join(' ', requested));
            }
        }
        catch
        {
            if (done.Count > 0)
            {
                store.ReleaseById(call.ContainerId, call.IfName);
            }
            throw;
        }
        result.Routes.AddRange(conf.Routes);
        return result;
    }

    public void Del(CniInvocation call)
    {
        HostLocalConfig conf = HostLocalConfig.Load(call);
        using DiskStore store = DiskStore.OpenLocked(conf.DataDir, conf.Name);
        store.ReleaseById(call.ContainerId, call.IfName);
    }

    public void Check(CniInvocation call)
    {
        HostLocalConfig conf = HostLocalConfig.Load(call);
        using DiskStore store = DiskStore.OpenLocked(conf.DataDir, conf.Name);
        if (store.GetById(call.ContainerId, call.IfName).Count == 0)
        {
            throw new CniException(CniErrorCode.Internal, $"host-local: Failed to find address added by container {call.ContainerId}");
        }
    }

    /// <summary>GC (1.1): frees every address whose (containerID, ifname) is not a valid attachment.</summary>
    public void Gc(CniInvocation call)
    {
        HostLocalConfig conf = HostLocalConfig.Load(call);
        HashSet<string> valid = [];
        if (ResultReader.TryGet(call.Config, "cni.dev/valid-attachments", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement a in list.EnumerateArray())
            {
                valid.Add((ResultReader.Str(a, "containerID") ?? "") + DiskStore.LineBreak + (ResultReader.Str(a, "ifname") ?? ""));
            }
        }
        using DiskStore store = DiskStore.OpenLocked(conf.DataDir, conf.Name);
        foreach ((string path, string content) in store.Allocations().ToList())
        {
            if (!valid.Contains(content))
            {
                File.Delete(path);
            }
        }
    }
}

/// <summary>resolv.conf as host-local reads it for the result's dns.</summary>
public static class ResolvConf
{
    public static CniDns Parse(string path)
    {
        CniDns dns = new();
        string? domain = null;
        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }
            string[] f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            switch (f[0])
            {
                case "nameserver" when f.Length > 1: dns.Nameservers.Add(f[1]); break;
                case "domain" when f.Length > 1: domain = f[1]; break;
                case "search": dns.Search.AddRange(f.Skip(1)); break;
                case "options": dns.Options.AddRange(f.Skip(1)); break;
                default: break;
            }
        }
        return dns with { Domain = domain };
    }
}
