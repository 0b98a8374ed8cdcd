using System.Net.Sockets;
using Twill.Netlink;

namespace Twill.Backends;

/// <summary>
/// One change to one kernel object, as the reconciler batches them: a closed set, one type per verb
/// and object, so a kernel port switches on the type and cannot be handed a route to "add" as an
/// address. <see cref="ToString"/> reads as before: <c>PutRoute 10.244.2.0/24 via … dev …</c>.
/// </summary>
public abstract record KernelChange
{
    private readonly object _subject;

    // Closed: only the cases below derive from it.
    private protected KernelChange(bool isDelete, string device, AddressFamily family, object subject) =>
        (IsDelete, Device, Family, _subject) = (isDelete, device, family, subject);

    /// <summary>True for the deletes: a delete of what is already gone is success.</summary>
    public bool IsDelete { get; }

    /// <summary>The device the object is on.</summary>
    public string Device { get; }

    /// <summary>The family the object belongs to (an FDB entry: of its remote, which follows the device's underlay).</summary>
    public AddressFamily Family { get; }

    public sealed override string ToString() => $"{GetType().Name} {_subject}";

    /// <summary><c>ip addr replace</c>.</summary>
    public sealed record AddAddress(PlannedAddress Address) : KernelChange(false, Address.Device, Address.Address.AddressFamily, Address);

    /// <summary><c>ip addr del</c>.</summary>
    public sealed record DeleteAddress(PlannedAddress Address) : KernelChange(true, Address.Device, Address.Address.AddressFamily, Address);

    /// <summary><c>ip route replace</c>.</summary>
    public sealed record PutRoute(PlannedRoute Route) : KernelChange(false, Route.Device, Route.Destination.BaseAddress.AddressFamily, Route);

    /// <summary><c>ip route del</c>.</summary>
    public sealed record DeleteRoute(PlannedRoute Route) : KernelChange(true, Route.Device, Route.Destination.BaseAddress.AddressFamily, Route);

    /// <summary><c>ip neigh replace … nud permanent</c>.</summary>
    public sealed record PutNeighbour(PlannedNeighbour Neighbour) : KernelChange(false, Neighbour.Device, Neighbour.Address.AddressFamily, Neighbour);

    /// <summary><c>ip neigh del</c>.</summary>
    public sealed record DeleteNeighbour(PlannedNeighbour Neighbour) : KernelChange(true, Neighbour.Device, Neighbour.Address.AddressFamily, Neighbour);

    /// <summary><c>bridge fdb replace … self permanent</c>.</summary>
    public sealed record PutFdb(PlannedFdb Fdb) : KernelChange(false, Fdb.Device, Fdb.Destination.AddressFamily, Fdb);

    /// <summary><c>bridge fdb del</c>.</summary>
    public sealed record DeleteFdb(PlannedFdb Fdb) : KernelChange(true, Fdb.Device, Fdb.Destination.AddressFamily, Fdb);
}

/// <summary>
/// Why a kernel change (or a device operation) failed: the message, and the errno when the kernel
/// answered with one, so callers can branch on it (EPERM is not worth a retry, ENODEV is).
/// </summary>
/// <param name="Message">The kernel's or the port's text.</param>
/// <param name="Errno">The kernel's error number; null when the failure did not come from the kernel.</param>
public sealed record KernelFailure(string Message, Errno? Errno = null)
{
    /// <summary>The failure an exception stands for (a <see cref="NetlinkException"/> keeps its errno).</summary>
    public static KernelFailure From(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new(exception.Message, exception is NetlinkException n && n.Errno != Netlink.Errno.None ? n.Errno : null);
    }

    public override string ToString() => Message;
}
