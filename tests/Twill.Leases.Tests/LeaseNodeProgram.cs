using System.Net;
using System.Net.NetworkInformation;
using Twill.Core;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Leases.Tests;

/// <summary>
/// The test assembly doubles as a tiny "node" so tests can run acquisitions in real, separate
/// processes: <c>dotnet Twill.Leases.Tests.dll acquire DIR PUBLIC-IP</c> leases a subnet from the file
/// store in DIR (network from DIR/config) and prints its key.
/// </summary>
internal static class LeaseNodeProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["acquire", string dir, string publicIP])
        {
            await Console.Error.WriteLineAsync("usage: acquire DIR PUBLIC-IP");
            return 2;
        }
        await using FileLeaseStore store = new(dir);
        NetworkConfig config = NetworkConfig.Parse((await store.GetNetworkConfigAsync(CancellationToken.None))!, out _);
        byte last = IPAddress.Parse(publicIP).GetAddressBytes()[3];
        LeaseAttrs attrs = LeaseAttrs.ForVxlan(IPAddress.Parse(publicIP), new VxlanLeaseData(4096, new PhysicalAddress([2, 0, 0, 0, 0, last])));
        try
        {
            Lease lease = await new LeaseManager(store, config).AcquireAsync(attrs, CancellationToken.None);
            Console.WriteLine(lease.Key);
            return 0;
        }
        catch (SubnetPoolExhaustedException e)
        {
            Console.WriteLine("exhausted: " + e.Message);
            return 3;
        }
    }
}
