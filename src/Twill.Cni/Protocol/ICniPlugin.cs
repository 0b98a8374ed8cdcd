namespace Twill.Cni.Protocol;

/// <summary>A CNI plugin: one method per spec command. VERSION is answered by the host.</summary>
public interface ICniPlugin
{
    /// <summary>The CNI type name the binary is installed under.</summary>
    string Type { get; }

    CniResult Add(CniInvocation call);

    void Del(CniInvocation call);

    void Check(CniInvocation call);

    /// <summary>STATUS (1.1): throw <see cref="CniErrorCode.TryAgainLater"/>-style errors when not ready.</summary>
    void Status(CniInvocation call) { }

    /// <summary>GC (1.1): release what is not in cni.dev/valid-attachments.</summary>
    void Gc(CniInvocation call) { }
}
