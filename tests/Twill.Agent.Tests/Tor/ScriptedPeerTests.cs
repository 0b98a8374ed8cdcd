using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Twill.Netlink;
using Twill.Testing;
using Xunit.Abstractions;

namespace Twill.Agent.Tests.Tor;

/// <summary>
/// What FRR cannot be made to send: a ToR of a few scripted bytes, in the ToR namespace, against a
/// real agent's speaker. The node's kernel (its proto-84 routes) and the bytes the agent sends back
/// (no NOTIFICATION) are the oracles.
/// </summary>
public class ScriptedPeerTests(ITestOutputHelper output)
{
    private static readonly IPAddress TorAddress = IPAddress.Parse("192.0.2.1");

    private const string Backend = """{"Type":"bgp","ASN":64512,"Peers":[{"Address":"192.0.2.1","ASN":65000,"HoldTime":9}],"ImportRoutes":true,"ConnectTimeout":3}""";

    [RootFact]
    public void MalformedAttribute_IsTreatAsWithdraw_TheGoodRouteIsInstalled_AndTheSessionStays()
    {
        Socket? listener = null;
        using AgentLab lab = new(TorAgentLab.NetConf(Backend), 1, beforeAgents: l =>
        {
            l.Switch.Ip("addr", "add", TorAddress + "/24", "dev", "br0");
            using NetNs tor = NetNs.Open(l.Switch.Name);
            listener = tor.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            listener.Bind(new IPEndPoint(TorAddress, 179));
            listener.Listen();
        });
        using Socket accepting = listener!;
        Task<Socket> accept = accepting.AcceptAsync();
        Assert.True(accept.Wait(TimeSpan.FromSeconds(30)), $"the agent did not connect\n{lab.Log(0)}");
        using Socket peer = accept.Result;
        peer.ReceiveTimeout = 30_000;

        Assert.Equal(1, ReadFrame(peer).Type); // the agent's OPEN
        // OPEN: version 4, AS 65000, hold 9, id 192.0.2.1; capabilities multiprotocol IPv4 unicast and 4-octet AS 65000.
        Send(peer, 1, "04" + "fde8" + "0009" + "c0000201" + "10" + "0206" + "010400010001" + "0206" + "41040000fde8");
        Send(peer, 4, "");
        Assert.Equal(4, ReadFrame(peer).Type); // its KEEPALIVE: Established

        List<byte> received = [];
        Thread reader = new(() =>
        {
            try
            {
                while (true)
                {
                    byte type = ReadFrame(peer).Type;
                    lock (received)
                    {
                        received.Add(type);
                    }
                }
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
            }
        }) { IsBackground = true };
        reader.Start();
        using Timer keepalive = new(_ => { try { Send(peer, 4, ""); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { } },
            null, TimeSpan.Zero, TimeSpan.FromSeconds(2));

        const string path = "4002060201" + "0000fde8" + "400304" + "c0000201";   // AS_PATH 65000, NEXT_HOP 192.0.2.1
        Send(peer, 2, Update("4001020000" + path, "180af432"));    // 10.244.50.0/24 with an ORIGIN of length 2: malformed
        Send(peer, 2, Update("40010100" + path, "180af433"));      // 10.244.51.0/24, well formed

        Assert.True(AgentLab.Eventually(() => lab.TwillRoutes(0).Contains("10.244.51.0/24"), TimeSpan.FromSeconds(30)), $"the good route installed\n{lab.Log(0)}");
        Assert.Equal("192.0.2.1", lab.Nodes[0].IpJson("route", "show", "10.244.51.0/24")[0].GetProperty("gateway").GetString());
        Assert.DoesNotContain("10.244.50.0/24", lab.TwillRoutes(0));
        Assert.True(AgentLab.Eventually(() => lab.Log(0).Contains("malformed UPDATE", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), lab.Log(0));

        // Longer than the 9 s hold time: still one session, no NOTIFICATION, the agent's keepalives keep coming.
        int before;
        lock (received)
        {
            before = received.Count(t => t == 4);
        }
        Thread.Sleep(12_000);
        byte[] types;
        lock (received)
        {
            types = [.. received];
        }
        output.WriteLine($"message types from the agent: {string.Join(",", types)}");
        Assert.DoesNotContain((byte)3, types);
        Assert.Contains((byte)2, types); // its own subnet's UPDATE (and End-of-RIB)
        Assert.True(types.Count(t => t == 4) >= before + 2, "the agent's keepalives kept coming");
        Assert.True(lab.TwillRoutes(0).Contains("10.244.51.0/24"));
        Assert.DoesNotContain("session down", lab.Log(0), StringComparison.OrdinalIgnoreCase);
        Assert.False(lab.Agents[0]!.HasExited);
    }

    /// <summary>An UPDATE body: no withdrawn routes, the attributes, one NLRI.</summary>
    private static string Update(string attributes, string nlri) => "0000" + (attributes.Length / 2).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) + attributes + nlri;

    private static void Send(Socket socket, byte type, string bodyHex)
    {
        byte[] body = Convert.FromHexString(bodyHex);
        byte[] frame = new byte[19 + body.Length];
        frame.AsSpan(0, 16).Fill(0xff);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), (ushort)frame.Length);
        frame[18] = type;
        body.CopyTo(frame, 19);
        lock (socket)
        {
            socket.Send(frame);
        }
    }

    private static (byte Type, byte[] Body) ReadFrame(Socket socket)
    {
        byte[] header = ReadExactly(socket, 19);
        int length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(16));
        return (header[18], ReadExactly(socket, length - 19));
    }

    private static byte[] ReadExactly(Socket socket, int count)
    {
        byte[] buffer = new byte[count];
        int at = 0;
        while (at < count)
        {
            int n = socket.Receive(buffer, at, count - at, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("the agent closed the connection");
            }
            at += n;
        }
        return buffer;
    }
}
