using System.Net;
using System.Net.Sockets;

namespace Twill.Bgp.Session;

/// <summary>
/// Real TCP. <paramref name="socketFactory"/> makes the sockets: the default is a plain socket in
/// the process's namespace; the lab and tests pass one that creates it inside a node namespace (a
/// socket stays in the namespace it was created in).
/// </summary>
public sealed class TcpBgpConnector(Func<AddressFamily, Socket>? socketFactory = null) : IBgpConnector
{
    private readonly Func<AddressFamily, Socket> _socketFactory = socketFactory ?? (family => new Socket(family, SocketType.Stream, ProtocolType.Tcp));

    public async ValueTask<IBgpConnection> ConnectAsync(BgpPeerSettings peer, CancellationToken cancellationToken)
    {
        IPEndPoint endpoint = new(peer.PeerAddress, peer.Port);
        Socket socket = _socketFactory(peer.PeerAddress.AddressFamily);
        try
        {
            socket.NoDelay = true;
            if (!string.IsNullOrEmpty(peer.Md5Password))
            {
                try
                {
                    TcpMd5.Apply(socket, peer.PeerAddress, peer.Md5Password);
                }
                catch (SocketException e)
                {
                    throw new BgpConnectException($"cannot set the TCP-MD5 key for {peer.PeerAddress}: {e.Message} (kernel without CONFIG_TCP_MD5SIG?)", e);
                }
            }
            using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(peer.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                string hint = string.IsNullOrEmpty(peer.Md5Password)
                    ? "is the peer up, and does it expect a TCP-MD5 password? (a peer with a key drops unsigned SYNs silently)"
                    : "check the MD5 password: a TCP-MD5 key that does not match the peer's makes it drop our SYNs silently";
                throw new BgpConnectException($"connect to {endpoint} timed out after {peer.ConnectTimeout.TotalSeconds:0.#} s; {hint}");
            }
            catch (SocketException e)
            {
                throw new BgpConnectException($"connect to {endpoint}: {e.SocketErrorCode} ({e.Message})", e);
            }
            return new SocketBgpConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>An <see cref="IBgpConnection"/> over a connected TCP socket.</summary>
public sealed class SocketBgpConnection(Socket socket) : IBgpConnection
{
    private int _disposed;

    public Socket Socket => socket;

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    public void Abort()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // SO_LINGER 0: close() sends a RST and discards anything unsent, like a killed process's socket.
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            socket.Dispose();
        }
    }

    public string Describe()
    {
        try
        {
            return $"{socket.LocalEndPoint} -> {socket.RemoteEndPoint}";
        }
        catch (ObjectDisposedException)
        {
            return "closed";
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            socket.Dispose();
        }
    }
}
