namespace Twill.Leases.Etcd;

/// <summary>An etcd request failed; the message names the endpoint(s), the operation and the key.</summary>
public sealed class EtcdStoreException : Exception
{
    public EtcdStoreException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    public EtcdStoreException()
    {
    }

    public EtcdStoreException(string message) : base(message)
    {
    }
}
