namespace Twill.Bgp.Session;

/// <summary>One TCP connection to a peer, as the session driver sees it. Tests plug in an in-memory pair.</summary>
public interface IBgpConnection : IDisposable
{
    /// <summary>Reads what has arrived; 0 at end of stream.</summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Closes without ceremony (a TCP reset), as a crashed process's socket would.</summary>
    void Abort();

    /// <summary>Where the connection comes from (for logs).</summary>
    string Describe();
}

/// <summary>Opens outgoing connections to a peer.</summary>
public interface IBgpConnector
{
    /// <summary>
    /// Connects to the peer, within <see cref="BgpPeerSettings.ConnectTimeout"/>. Throws
    /// <see cref="BgpConnectException"/> with a message fit for the log.
    /// </summary>
    ValueTask<IBgpConnection> ConnectAsync(BgpPeerSettings peer, CancellationToken cancellationToken);
}

/// <summary>An outgoing connection could not be opened; the message says why, in words for an operator.</summary>
public sealed class BgpConnectException : Exception
{
    public BgpConnectException(string message)
        : base(message)
    {
    }

    public BgpConnectException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public BgpConnectException()
    {
    }
}
