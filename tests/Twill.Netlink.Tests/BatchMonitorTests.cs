using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Testing;

namespace Twill.Netlink.Tests;

public sealed class BatchMonitorTests
{
    private static Link Vxlan(Scene s)
    {
        Link ul = s.Rtnl.AddVeth("ul0", "ul1");
        s.Rtnl.AddAddress(ul.Index, IPAddress.Parse("192.0.2.1"), 24);
        Link vx = s.Rtnl.AddVxlan(new VxlanSpec { Name = "vx0", Vni = 4096, Local = IPAddress.Parse("192.0.2.1"), UnderlayIndex = ul.Index });
        s.Rtnl.SetLinkUp(ul.Index);
        s.Rtnl.SetLinkUp(vx.Index);
        return vx;
    }

    [RootFact]
    public void Execute_ThousandsOfObjectsWithOneBadRequest_ReportsExactlyThatOne()
    {
        using Scene s = new("batch");
        Link vx = Vxlan(s);
        RtnlBatch batch = s.Rtnl.CreateBatch();
        const int Peers = 3000;
        const int Bad = 1717;
        for (int i = 0; i < Peers; i++)
        {
            IPAddress gw = new([10, (byte)(i >> 8), (byte)i, 0]);
            PhysicalAddress mac = new([2, 0, 0, 0, (byte)(i >> 8), (byte)i]);
            // Position 3*Bad is a route through a device that does not exist.
            batch.ReplaceRoute(new Route(new IPNetwork(gw, 24)) { Gateway = gw, OutputIndex = i == Bad ? 9999 : vx.Index, OnLink = true, Protocol = RouteProtocol.Twill });
            batch.ReplaceNeighbour(new Neighbour(vx.Index, gw, mac));
            batch.AppendFdb(vx.Index, mac, new IPAddress([192, 0, 2, (byte)(i % 250 + 2)]));
        }
        Assert.Equal(3 * Peers, batch.Count);

        RtnlBatchResult result = batch.Execute();

        RtnlBatchFailure failure = Assert.Single(result.Failures);
        Assert.Equal(3 * Bad, failure.Position);
        Assert.Equal(Errno.ENODEV, failure.Error.Errno);
        Assert.StartsWith("RTM_NEWROUTE 10.6.181.0/24 via 10.6.181.0 dev 9999 onlink", failure.Error.Message, StringComparison.Ordinal);
        Assert.Equal(IPNetwork.Parse("10.6.181.0/24"), ((Route)failure.Subject).Destination);
        Assert.Equal(0, batch.Count);
        Assert.Equal(Peers - 1, s.Rtnl.DumpRoutes(AddressFamily.InterNetwork, protocol: RouteProtocol.Twill).Count);
        Assert.Equal(Peers - 1, s.Ns.IpJson("route", "show", "proto", "84").GetArrayLength());
        Assert.Equal(Peers, s.Rtnl.DumpNeighbours(AddressFamily.InterNetwork, vx.Index).Count);
        Assert.Equal(Peers, s.Rtnl.DumpFdb(vx.Index).Count(e => e.Destination is not null));
        AggregateException agg = Assert.Throws<AggregateException>(result.ThrowIfFailed);
        Assert.Single(agg.InnerExceptions);

        foreach (Route r in s.Rtnl.DumpRoutes(AddressFamily.InterNetwork, protocol: RouteProtocol.Twill))
        {
            batch.DeleteRoute(r);
        }
        foreach (Neighbour n in s.Rtnl.DumpNeighbours(AddressFamily.InterNetwork, vx.Index))
        {
            batch.DeleteNeighbour(n);
        }
        foreach (FdbEntry e in s.Rtnl.DumpFdb(vx.Index).Where(e => e.Destination is not null))
        {
            batch.DeleteFdb(e);
        }
        Assert.True(batch.Execute().Succeeded);
        Assert.Equal(0, s.Ns.IpJson("route", "show", "proto", "84").GetArrayLength());
        Assert.Empty(s.Rtnl.DumpNeighbours(AddressFamily.InterNetwork, vx.Index));
    }

    [RootFact]
    public void Execute_Empty_Succeeds()
    {
        using Scene s = new("batch0");

        RtnlBatchResult result = s.Rtnl.CreateBatch().Execute();

        Assert.True(result.Succeeded);
        Assert.Equal(0, result.Count);
    }

    [RootFact]
    public async Task Monitor_LinkDeleted_SeesDeleteEvent()
    {
        using Scene s = new("mon");
        Link veth = s.Rtnl.AddVeth("m0", "m1");
        using RtnlMonitor monitor = RtnlMonitor.Open(s.Handle, RtnlGroups.Links | RtnlGroups.Ipv4Routes);
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(20));

        s.Ns.Ip("link", "del", "m0");

        RtnlEvent? seen = null;
        await foreach (RtnlEvent e in monitor.ReadAllAsync(cts.Token))
        {
            if (e.Kind == RtnlEventKind.DeleteLink && e.Link!.Name == "m0")
            {
                seen = e;
                break;
            }
        }
        Assert.NotNull(seen);
        Assert.Equal(veth.Index, seen.Link!.Index);
    }

    [RootFact]
    public async Task Monitor_RouteAndAddressEvents_Decoded()
    {
        using Scene s = new("mon2");
        Link veth = s.Rtnl.AddVeth("m0", "m1");
        s.Rtnl.SetLinkUp(veth.Index);
        using RtnlMonitor monitor = RtnlMonitor.Open(s.Handle, RtnlGroups.All);
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(20));

        s.Ns.Ip("addr", "add", "10.9.0.1/24", "dev", "m0");
        s.Ns.Ip("route", "add", "10.10.0.0/16", "via", "10.9.0.2", "proto", "84");

        bool address = false, route = false;
        await foreach (RtnlEvent e in monitor.ReadAllAsync(cts.Token))
        {
            address |= e.Kind == RtnlEventKind.NewAddress && e.Address!.Address.Equals(IPAddress.Parse("10.9.0.1"));
            route |= e.Kind == RtnlEventKind.NewRoute && e.Route!.Protocol == RouteProtocol.Twill && e.Route.Gateway!.Equals(IPAddress.Parse("10.9.0.2"));
            if (address && route)
            {
                break;
            }
        }
        Assert.True(address && route);
    }

    [RootFact]
    public async Task Monitor_ReceiveQueueOverflows_EmitsOverrunThenKeepsGoing()
    {
        using Scene s = new("ovr");
        Link vx = Vxlan(s);
        using RtnlMonitor monitor = RtnlMonitor.Open(s.Handle, RtnlGroups.Neighbours);
        RtnlBatch batch = s.Rtnl.CreateBatch();
        // Far more notifications than the monitor's receive buffer holds while nobody reads it.
        for (int i = 0; i < 60000; i++)
        {
            IPAddress ip = new([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
            batch.ReplaceNeighbour(new Neighbour(vx.Index, ip, new PhysicalAddress([2, 0, 0, (byte)(i >> 16), (byte)(i >> 8), (byte)i])));
        }
        Assert.True(batch.Execute().Succeeded);
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(30));
        IPAddress markerIp = IPAddress.Parse("10.255.255.1");

        bool overrun = false, marker = false;
        Task? poke = null;
        await foreach (RtnlEvent e in monitor.ReadAllAsync(cts.Token))
        {
            if (e.Kind == RtnlEventKind.Overrun && poke is null)
            {
                overrun = true;
                // The kernel drops new events until the reader has drained its queue, so keep
                // changing one neighbour until a change gets through.
                poke = Task.Run(async () =>
                {
                    for (int i = 0; !cts.IsCancellationRequested && !Volatile.Read(ref marker); i++)
                    {
                        s.Rtnl.ReplaceNeighbour(new Neighbour(vx.Index, markerIp, new PhysicalAddress([2, 0xff, 0, 0, (byte)(i >> 8), (byte)i])));
                        await Task.Delay(100);
                    }
                });
            }
            else if (e.Neighbour?.Address.Equals(markerIp) == true)
            {
                Volatile.Write(ref marker, true);
                break;
            }
        }
        await poke!;
        Assert.True(overrun);
        Assert.True(marker);
    }
}
