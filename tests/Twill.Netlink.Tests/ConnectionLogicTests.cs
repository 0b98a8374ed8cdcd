using System.Net;
using System.Net.Sockets;
using Twill.Netlink.Protocol;

namespace Twill.Netlink.Tests;

/// <summary>Multipart, retry, sequence and batch logic against <see cref="FakeKernel"/>.</summary>
public sealed class ConnectionLogicTests
{
    [Fact]
    public void DumpRoutes_InterruptedOnce_RepeatsWholeDump()
    {
        int dumps = 0;
        FakeKernel kernel = new(sent =>
        {
            uint seq = FakeKernel.Messages(sent)[0].Header.Seq;
            dumps++;
            return dumps == 1
                ? [FakeKernel.Concat(FakeKernel.Route(seq, Nl.FMulti | Nl.FDumpIntr)), FakeKernel.Done(seq, Nl.FMulti | Nl.FDumpIntr)]
                : [FakeKernel.Concat(FakeKernel.Route(seq, Nl.FMulti), FakeKernel.Route(seq, Nl.FMulti)), FakeKernel.Done(seq)];
        });
        using RtnlConnection c = new(kernel);

        IReadOnlyList<Route> routes = c.DumpRoutes(AddressFamily.InterNetwork);

        Assert.Equal(2, dumps);
        Assert.Equal(2, routes.Count);
        Assert.NotEqual(FakeKernel.Messages(kernel.Sends[0])[0].Header.Seq, FakeKernel.Messages(kernel.Sends[1])[0].Header.Seq);
    }

    [Fact]
    public void DumpRoutes_AlwaysInterrupted_ThrowsAfterBoundedRetries()
    {
        FakeKernel kernel = new(sent =>
        {
            uint seq = FakeKernel.Messages(sent)[0].Header.Seq;
            return [FakeKernel.Done(seq, Nl.FMulti | Nl.FDumpIntr)];
        });
        using RtnlConnection c = new(kernel);

        NetlinkException e = Assert.Throws<NetlinkException>(() => c.DumpRoutes(AddressFamily.InterNetwork));

        Assert.Equal(Errno.EINTR, e.Errno);
        Assert.Equal(10, kernel.Sends.Count);
    }

    [Fact]
    public void DumpRoutes_StrictRequest_CarriesDumpFlagsAndFilters()
    {
        FakeKernel kernel = new(sent => [FakeKernel.Done(FakeKernel.Messages(sent)[0].Header.Seq)]);
        using RtnlConnection c = new(kernel);

        c.DumpRoutes(AddressFamily.InterNetwork, table: 100, protocol: RouteProtocol.Twill);

        (NlMsgHdr h, byte[] m) = Assert.Single(FakeKernel.Messages(kernel.Sends[0]));
        Assert.Equal(Nl.FRequest | Nl.FDump, h.Flags);
        RtMsg rt = Attr.Struct<RtMsg>(m);
        Assert.Equal((Af.Inet, (byte)100, (byte)84, (byte)0, (byte)0), (rt.Family, rt.Table, rt.Protocol, rt.DstLen, rt.Scope));
    }

    [Fact]
    public void ReplaceRoute_StaleReplyFirst_WaitsForOwnAck()
    {
        FakeKernel kernel = new(sent =>
        {
            uint seq = FakeKernel.Messages(sent)[0].Header.Seq;
            // A failure for an earlier, abandoned request, then ours.
            return [FakeKernel.Ack(seq - 1, -17), FakeKernel.Ack(seq)];
        });
        using RtnlConnection c = new(kernel);

        c.ReplaceRoute(new Route(IPNetwork.Parse("10.1.0.0/16")) { OutputIndex = 2 });

        (NlMsgHdr h, _) = Assert.Single(FakeKernel.Messages(kernel.Sends[0]));
        Assert.Equal(Nl.FRequest | Nl.FAck | Nl.FCreate | Nl.FReplace, h.Flags);
    }

    [Fact]
    public void DumpLinks_DoneCarriesError_Throws()
    {
        FakeKernel kernel = new(sent => [FakeKernel.Done(FakeKernel.Messages(sent)[0].Header.Seq, Nl.FMulti, -22)]);
        using RtnlConnection c = new(kernel);

        Assert.Equal(Errno.EINVAL, Assert.Throws<NetlinkException>(() => c.DumpLinks()).Errno);
    }

    [Fact]
    public void BatchExecute_FailuresBySequence_OnlyLastOfEachSendAsksForAck()
    {
        const int Count = RtnlBatch.MaxMessagesPerWrite + 100;
        uint? first = null;
        FakeKernel kernel = new(sent =>
        {
            List<(NlMsgHdr Header, byte[] Message)> msgs = FakeKernel.Messages(sent);
            first ??= msgs[0].Header.Seq;
            List<byte[]> replies = [];
            foreach ((NlMsgHdr h, _) in msgs)
            {
                long position = h.Seq - first.Value;
                if (position is 5 or 2100)
                {
                    replies.Add(FakeKernel.Ack(h.Seq, -19)); // ENODEV
                }
                else if ((h.Flags & Nl.FAck) != 0)
                {
                    replies.Add(FakeKernel.Ack(h.Seq));
                }
            }
            return replies;
        });
        using RtnlConnection c = new(kernel);
        RtnlBatch batch = c.CreateBatch();
        for (int i = 0; i < Count; i++)
        {
            batch.ReplaceNeighbour(new Neighbour(3, new IPAddress([10, 0, (byte)(i >> 8), (byte)i]), null));
        }

        RtnlBatchResult result = batch.Execute();

        Assert.Equal([5, 2100], result.Failures.Select(f => f.Position));
        Assert.Equal("RTM_NEWNEIGH 10.0.0.5 dev 3: No such device", result.Failures[0].Error.Message);
        Assert.Equal(2, kernel.Sends.Count);
        foreach (byte[] send in kernel.Sends)
        {
            List<(NlMsgHdr Header, byte[] Message)> msgs = FakeKernel.Messages(send);
            Assert.All(msgs[..^1], m => Assert.Equal(0, m.Header.Flags & Nl.FAck));
            Assert.NotEqual(0, msgs[^1].Header.Flags & Nl.FAck);
        }
        Assert.Equal(Count, kernel.Sends.Sum(s => FakeKernel.Messages(s).Count));
    }
}
