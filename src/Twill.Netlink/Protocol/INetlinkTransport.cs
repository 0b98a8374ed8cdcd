using Twill.Netlink.Interop;
using Twill.Os;

namespace Twill.Netlink.Protocol;

/// <summary>
/// Where requests go and replies come from: the kernel through a socket, or an in-memory fake in
/// tests (so the multipart, retry and batch logic is checked without root).
/// </summary>
internal interface INetlinkTransport : IDisposable
{
    /// <summary>Writes one buffer of one or more messages (a single send(2)).</summary>
    void Send(ReadOnlySpan<byte> data);

    /// <summary>Reads one datagram into <paramref name="buffer"/>; returns its length.</summary>
    int Receive(Span<byte> buffer);
}

/// <summary>The real thing: a NETLINK_ROUTE socket.</summary>
internal sealed class SocketTransport : INetlinkTransport
{
    private readonly FileDescriptor _fd;

    public SocketTransport(FileDescriptor fd) => _fd = fd;

    public void Send(ReadOnlySpan<byte> data) => NetlinkSocket.Send(_fd, data);

    public int Receive(Span<byte> buffer) => NetlinkSocket.Receive(_fd, buffer);

    public void Dispose() => _fd.Dispose();
}
