using System.Net;
using System.Net.Sockets;

namespace Twill.Testing;

/// <summary>Free TCP ports on 127.0.0.1 for the servers the tests start (etcd, the API server stand-in).</summary>
internal static class LoopbackPorts
{
    public static int[] Free(int count)
    {
        // Hold every listener until all are chosen so the kernel cannot hand one port out twice.
        List<TcpListener> listeners = [];
        try
        {
            for (int i = 0; i < count; i++)
            {
                TcpListener l = new(IPAddress.Loopback, 0);
                l.Start();
                listeners.Add(l);
            }
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (TcpListener l in listeners)
            {
                l.Stop();
            }
        }
    }
}
