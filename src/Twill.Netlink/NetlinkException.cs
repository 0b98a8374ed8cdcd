namespace Twill.Netlink;

/// <summary>
/// The kernel refused a request, or a system call around netlink failed. Carries the errno, the
/// kernel's extended-ACK message when it gave one, and a description of the request, e.g.
/// "RTM_NEWROUTE 10.244.2.0/24: Network is unreachable (nexthop has invalid gateway)".
/// </summary>
public sealed class NetlinkException : Exception
{
    public NetlinkException(Errno errno, string request, string? kernelMessage = null)
        : base(Format(errno, request, kernelMessage))
    {
        Errno = errno;
        Request = request;
        KernelMessage = kernelMessage;
    }

    public NetlinkException()
        : this(Errno.None, "netlink")
    {
    }

    public NetlinkException(string message)
        : base(message)
    {
        Request = message;
    }

    public NetlinkException(string message, Exception innerException)
        : base(message, innerException)
    {
        Request = message;
    }

    /// <summary>The error number the kernel (or libc) returned.</summary>
    public Errno Errno { get; }

    /// <summary>The kernel's extended-ACK text (NLMSGERR_ATTR_MSG), if any.</summary>
    public string? KernelMessage { get; }

    /// <summary>What was asked, e.g. "RTM_NEWROUTE 10.244.2.0/24 via 10.244.2.0 dev 4".</summary>
    public string Request { get; }

    /// <summary>The object was not there (ENOENT, ENODEV, ESRCH, EADDRNOTAVAIL).</summary>
    public bool IsNotFound => Errno is Errno.ENOENT or Errno.ENODEV or Errno.ESRCH or Errno.EADDRNOTAVAIL;

    /// <summary>The object already exists (EEXIST).</summary>
    public bool IsExists => Errno == Errno.EEXIST;

    internal static string Format(Errno errno, string request, string? kernelMessage) =>
        kernelMessage is { Length: > 0 }
            ? $"{request}: {ErrnoText.Describe(errno)} ({kernelMessage})"
            : $"{request}: {ErrnoText.Describe(errno)}";

    /// <summary>A failed system call, errno taken from the last P/Invoke.</summary>
    internal static NetlinkException FromLastError(string call) =>
        new((Errno)Interop.Libc.LastErrno, call);
}
