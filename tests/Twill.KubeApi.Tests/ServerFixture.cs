using Twill.Testing;

namespace Twill.KubeApi.Tests;

/// <summary>One etcd and one stand-in shared by the tests of a class (each test uses its own node names).</summary>
public sealed class ServerFixture : IDisposable
{
    private readonly Lazy<KubeApiServer> _server = new(() => KubeApiServer.Start());

    public KubeApiServer Server => _server.Value;

    public void Dispose()
    {
        if (_server.IsValueCreated)
        {
            _server.Value.Dispose();
        }
    }
}
