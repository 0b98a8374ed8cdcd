using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Twill.Core;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>
/// Sockets that live in a lab namespace without the process living there: a socket belongs to the
/// namespace of the thread that creates it, so it is created on NetNs.Run's dedicated thread and
/// then used from anywhere (async included).
/// </summary>
internal static class NamespaceSockets
{
    /// <summary>What a pod's responder answers to every TCP connection: the pod's name, one line.</summary>
    public static string Banner(string pod) => $"twill-lab {pod}\n";

    public static Socket Listen(NetNs ns, int port) => ns.Run(() =>
    {
        Socket s = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        s.Bind(new IPEndPoint(IPAddress.Any, port));
        s.Listen(128);
        return s;
    });

    /// <summary>TCP connect from the namespace, read the banner; the time to the full answer, or an error.</summary>
    public static async Task<ProbeResult> TcpAsync(NetNs from, IPAddress to, int port, TimeSpan timeout)
    {
        using Socket s = from.Run(static () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using CancellationTokenSource cts = new(timeout);
        Stopwatch sw = Stopwatch.StartNew();
        try
        {
            await s.ConnectAsync(new IPEndPoint(to, port), cts.Token).ConfigureAwait(false);
            byte[] buffer = new byte[256];
            int total = await SocketReads.ReceiveAsync(s, buffer, enough: null, cts.Token).ConfigureAwait(false);
            return new ProbeResult(true, sw.Elapsed, Encoding.ASCII.GetString(buffer, 0, total));
        }
        catch (OperationCanceledException)
        {
            return new ProbeResult(false, sw.Elapsed, $"no answer within {timeout.TotalMilliseconds:0} ms");
        }
        catch (SocketException e)
        {
            return new ProbeResult(false, sw.Elapsed, e.SocketErrorCode.ToString());
        }
    }

    private static int s_icmpId = Environment.ProcessId & 0x7fff;

    /// <summary>One ICMP echo from the namespace (a raw socket: we are root), the round-trip time or an error.</summary>
    public static async Task<ProbeResult> PingAsync(NetNs from, IPAddress to, TimeSpan timeout)
    {
        using Socket s = from.Run(static () => new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp));
        ushort id = (ushort)Interlocked.Increment(ref s_icmpId);
        const ushort Seq = 1;
        byte[] request = EchoRequest(id, Seq);
        using CancellationTokenSource cts = new(timeout);
        Stopwatch sw = Stopwatch.StartNew();
        try
        {
            await s.SendToAsync(request, SocketFlags.None, new IPEndPoint(to, 0), cts.Token).ConfigureAwait(false);
            byte[] buffer = new byte[1500];
            while (true)
            {
                SocketReceiveFromResult r = await s.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token)
                    .ConfigureAwait(false);
                // A raw IPv4 socket hands over the IP header too; every ICMP packet of the namespace arrives here.
                int ihl = (buffer[0] & 0x0f) * 4;
                if (r.ReceivedBytes < ihl + 8 || ((IPEndPoint)r.RemoteEndPoint).Address.Equals(to) is false)
                {
                    continue;
                }
                ReadOnlySpan<byte> icmp = buffer.AsSpan(ihl, r.ReceivedBytes - ihl);
                if (icmp[0] == 0 && BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]) == id && BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]) == Seq)
                {
                    return new ProbeResult(true, sw.Elapsed, "");
                }
            }
        }
        catch (OperationCanceledException)
        {
            return new ProbeResult(false, sw.Elapsed, $"no echo reply within {timeout.TotalMilliseconds:0} ms");
        }
        catch (SocketException e)
        {
            return new ProbeResult(false, sw.Elapsed, e.SocketErrorCode.ToString());
        }
    }

    internal static byte[] EchoRequest(ushort id, ushort seq)
    {
        byte[] packet = new byte[8 + 32];
        packet[0] = 8; // echo request
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), seq);
        Encoding.ASCII.GetBytes("twill-lab-ping-twill-lab-ping-tw").CopyTo(packet, 8);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), Checksum(packet));
        return packet;
    }

    /// <summary>The Internet checksum (RFC 1071): one's complement of the one's-complement sum of 16-bit words.</summary>
    internal static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}

/// <summary>The outcome of one probe: reached or not, how long it took, and what came back (or why not).</summary>
public sealed record ProbeResult(bool Ok, TimeSpan Elapsed, string Detail);
