using System.Runtime.InteropServices;

namespace Twill.Os;

/// <summary>A system call failed; <see cref="Errno"/> is the raw error number, <see cref="Operation"/> the call.</summary>
/// <remarks>Callers that owe their users a domain error (CNI, firewall, netlink) catch it and say what they were doing.</remarks>
public sealed class OsException : IOException
{
    public OsException(int errno, string operation)
        : base($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)}")
    {
        Errno = errno;
        Operation = operation;
    }

    public OsException()
    {
        Operation = "";
    }

    public OsException(string message) : base(message)
    {
        Operation = "";
    }

    public OsException(string message, Exception innerException) : base(message, innerException)
    {
        Operation = "";
    }

    /// <summary>The errno the call left (or returned, for posix_spawn*).</summary>
    public int Errno { get; }

    /// <summary>The call that failed, e.g. <c>open</c>, <c>flock</c>, <c>setns</c>.</summary>
    public string Operation { get; }

    /// <summary>strerror(<see cref="Errno"/>).</summary>
    public string Reason => Marshal.GetPInvokeErrorMessage(Errno);

    internal static OsException FromLastError(string operation) => new(Marshal.GetLastPInvokeError(), operation);
}
