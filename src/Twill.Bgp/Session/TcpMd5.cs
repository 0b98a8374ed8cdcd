using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Twill.Bgp.Session;

/// <summary>
/// TCP-MD5 signatures (RFC 2385) through Linux's TCP_MD5SIG socket option, set with
/// <see cref="Socket.SetRawSocketOption"/> (no P/Invoke). The option value is
/// <c>struct tcp_md5sig</c> from linux/tcp.h:
/// <code>
/// struct tcp_md5sig {
///     struct __kernel_sockaddr_storage tcpm_addr;  //   0: 128 octets, the peer (sockaddr_in / sockaddr_in6)
///     __u8   tcpm_flags;                           // 128: 0 (no prefix / ifindex extensions)
///     __u8   tcpm_prefixlen;                       // 129
///     __u16  tcpm_keylen;                          // 130: host byte order
///     int    tcpm_ifindex;                         // 132
///     __u8   tcpm_key[TCP_MD5SIG_MAXKEYLEN];       // 136: 80 octets
/// };                                               // 216 octets
/// </code>
/// Set it on a connecting socket before connect(), and on a listening socket once per peer.
/// </summary>
public static class TcpMd5
{
    public const int IpProtoTcp = 6;
    public const int TcpMd5Sig = 14;
    public const int MaxKeyLength = 80;
    public const int StructSize = 216;

    private const int AfInet = 2;
    private const int AfInet6 = 10;

    /// <summary>The option value for <paramref name="peer"/> with <paramref name="password"/> (empty deletes the key).</summary>
    public static byte[] Build(IPAddress peer, string password)
    {
        byte[] key = Encoding.UTF8.GetBytes(password);
        if (key.Length > MaxKeyLength)
        {
            throw new ArgumentException($"TCP-MD5 password of {key.Length} octets exceeds Linux's {MaxKeyLength}", nameof(password));
        }
        byte[] value = new byte[StructSize];
        Span<byte> s = value;
        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }
        if (peer.AddressFamily == AddressFamily.InterNetwork)
        {
            // sockaddr_in: family (host order), port, address.
            BitConverter.TryWriteBytes(s[0..2], (ushort)AfInet);
            peer.TryWriteBytes(s[4..8], out _);
        }
        else
        {
            // sockaddr_in6: family, port, flowinfo, address, scope id.
            BitConverter.TryWriteBytes(s[0..2], (ushort)AfInet6);
            peer.TryWriteBytes(s[8..24], out _);
            BitConverter.TryWriteBytes(s[24..28], (uint)peer.ScopeId);
        }
        BitConverter.TryWriteBytes(s[130..132], (ushort)key.Length);
        key.CopyTo(s[136..]);
        return value;
    }

    /// <summary>Installs the key for <paramref name="peer"/> on <paramref name="socket"/>.</summary>
    public static void Apply(Socket socket, IPAddress peer, string password) =>
        socket.SetRawSocketOption(IpProtoTcp, TcpMd5Sig, Build(peer, password));
}
