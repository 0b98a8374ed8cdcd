namespace Twill.Netlink;

/// <summary>Linux errno values (asm-generic/errno-base.h, errno.h) that rtnetlink reports. Any
/// other value is still carried as its number.</summary>
public enum Errno
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>Operation not permitted (not root, or capability missing in the namespace).</summary>
    EPERM = 1,
    /// <summary>No such file or directory: the route/address/neighbour does not exist.</summary>
    ENOENT = 2,
    /// <summary>No such process (e.g. deleting a route that is not there on older kernels).</summary>
    ESRCH = 3,
    /// <summary>Interrupted system call.</summary>
    EINTR = 4,
    /// <summary>I/O error.</summary>
    EIO = 5,
    /// <summary>Bad file descriptor (e.g. a closed namespace fd).</summary>
    EBADF = 9,
    /// <summary>Try again.</summary>
    EAGAIN = 11,
    /// <summary>Out of memory.</summary>
    ENOMEM = 12,
    /// <summary>Permission denied.</summary>
    EACCES = 13,
    /// <summary>Device or resource busy.</summary>
    EBUSY = 16,
    /// <summary>The object already exists (create with NLM_F_EXCL).</summary>
    EEXIST = 17,
    /// <summary>No such device: the interface index or name is unknown.</summary>
    ENODEV = 19,
    /// <summary>Invalid argument (the extended ACK usually says which).</summary>
    EINVAL = 22,
    /// <summary>Numerical result out of range (e.g. MTU too large).</summary>
    ERANGE = 34,
    /// <summary>Message too long.</summary>
    EMSGSIZE = 90,
    /// <summary>Protocol not available.</summary>
    ENOPROTOOPT = 92,
    /// <summary>Operation not supported (missing kernel module, unsupported attribute).</summary>
    EOPNOTSUPP = 95,
    /// <summary>Address family not supported (e.g. IPv6 disabled).</summary>
    EAFNOSUPPORT = 97,
    /// <summary>Address already in use.</summary>
    EADDRINUSE = 98,
    /// <summary>Cannot assign requested address: the address does not exist on the device.</summary>
    EADDRNOTAVAIL = 99,
    /// <summary>Network is down.</summary>
    ENETDOWN = 100,
    /// <summary>Network is unreachable: no route to the gateway.</summary>
    ENETUNREACH = 101,
    /// <summary>No buffer space: the socket's receive queue overflowed.</summary>
    ENOBUFS = 105,
    /// <summary>Connection timed out.</summary>
    ETIMEDOUT = 110,
    /// <summary>No route to host.</summary>
    EHOSTUNREACH = 113,
    /// <summary>Operation not supported (kernel-internal ENOTSUPP, seen through netlink).</summary>
    ENOTSUPP = 524,
}

/// <summary>The text for an errno, as strerror(3) words it, for the common netlink ones.</summary>
public static class ErrnoText
{
    /// <summary>strerror-equivalent text for <paramref name="errno"/>.</summary>
    public static string Describe(Errno errno) => errno switch
    {
        Errno.None => "Success",
        Errno.EPERM => "Operation not permitted",
        Errno.ENOENT => "No such file or directory",
        Errno.ESRCH => "No such process",
        Errno.EINTR => "Interrupted system call",
        Errno.EIO => "Input/output error",
        Errno.EBADF => "Bad file descriptor",
        Errno.EAGAIN => "Resource temporarily unavailable",
        Errno.ENOMEM => "Cannot allocate memory",
        Errno.EACCES => "Permission denied",
        Errno.EBUSY => "Device or resource busy",
        Errno.EEXIST => "File exists",
        Errno.ENODEV => "No such device",
        Errno.EINVAL => "Invalid argument",
        Errno.ERANGE => "Numerical result out of range",
        Errno.EMSGSIZE => "Message too long",
        Errno.ENOPROTOOPT => "Protocol not available",
        Errno.EOPNOTSUPP => "Operation not supported",
        Errno.EAFNOSUPPORT => "Address family not supported by protocol",
        Errno.EADDRINUSE => "Address already in use",
        Errno.EADDRNOTAVAIL => "Cannot assign requested address",
        Errno.ENETDOWN => "Network is down",
        Errno.ENETUNREACH => "Network is unreachable",
        Errno.ENOBUFS => "No buffer space available",
        Errno.ETIMEDOUT => "Connection timed out",
        Errno.EHOSTUNREACH => "No route to host",
        Errno.ENOTSUPP => "Operation not supported",
        _ => "errno " + ((int)errno).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
