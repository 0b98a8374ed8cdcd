using System.Net.Sockets;

namespace Twill.Core;

/// <summary>Reading a short TCP exchange (a probe's banner, a health request) into one buffer.</summary>
public static class SocketReads
{
    /// <summary>
    /// Receives into <paramref name="buffer"/> until it is full, the peer closes, or
    /// <paramref name="enough"/> says what has arrived is complete; the number of octets read.
    /// </summary>
    public static async Task<int> ReceiveAsync(Socket socket, byte[] buffer, Func<ReadOnlyMemory<byte>, bool>? enough, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(buffer);
        int length = 0;
        while (length < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            length += n;
            if (enough?.Invoke(buffer.AsMemory(0, length)) == true)
            {
                break;
            }
        }
        return length;
    }
}
