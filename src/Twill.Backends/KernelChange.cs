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
    // Closed: only the cases below derive from it.
    private protected KernelChange()
    {
    }

    /// <summary>True for the deletes: a delete of what is already gone is success.</summary>
    public abstract bool IsDelete { get; }

    /// <summary>The device the object is on.</summary>
    public abstract string Device { get; }

    /// <summary>The family the object belongs to (an FDB entry: of its remote, which follows the device's underlay).</summary>
    public abstract AddressFamily Family { get; }

    /// <summary>The object, as <c>ip</c> would print it.</summary>
    protected abstract object Subject { get; }

    public sealed override string ToString() => $"{GetType().Name} {Subject}";

    /// <summary><c>ip addr replace</c>.</summary>
    public sealed record AddAddress(PlannedAddress Address) : KernelChange
    {
        public override bool IsDelete => false;
        public override string Device => Address.Device;
        public override AddressFamily Family => Address.Address.AddressFamily;
        protected override object Subject => Address;
    }

    /// <summary><c>ip addr del</c>.</summary>
    public sealed record DeleteAddress(PlannedAddress Address) : KernelChange
    {
        public override bool IsDelete => true;
        public override string Device => Address.Device;
        public override AddressFamily Family => Address.Address.AddressFamily;
        protected override object Subject => Address;
    }

    /// <summary><c>ip route replace</c>.</summary>
    public sealed record PutRoute(PlannedRoute Route) : KernelChange
    {
        public override bool IsDelete => false;
        public override string Device => Route.Device;
        public override AddressFamily Family => Route.Destination.BaseAddress.AddressFamily;
        protected override object Subject => Route;
    }

    /// <summary><c>ip route del</c>.</summary>
    public sealed record DeleteRoute(PlannedRoute Route) : KernelChange
    {
        public override bool IsDelete => true;
        public override string Device => Route.Device;
        public override AddressFamily Family => Route.Destination.BaseAddress.AddressFamily;
        protected override object Subject => Route;
    }

    /// <summary><c>ip neigh replace … nud permanent</c>.</summary>
    public sealed record PutNeighbour(PlannedNeighbour Neighbour) : KernelChange
    {
        public override bool IsDelete => false;
        public override string Device => Neighbour.Device;
        public override AddressFamily Family => Neighbour.Address.AddressFamily;
        protected override object Subject => Neighbour;
    }

    /// <summary><c>ip neigh del</c>.</summary>
    public sealed record DeleteNeighbour(PlannedNeighbour Neighbour) : KernelChange
    {
        public override bool IsDelete => true;
        public override string Device => Neighbour.Device;
        public override AddressFamily Family => Neighbour.Address.AddressFamily;
        protected override object Subject => Neighbour;
    }

    /// <summary><c>bridge fdb replace … self permanent</c>.</summary>
    public sealed record PutFdb(PlannedFdb Fdb) : KernelChange
    {
        public override bool IsDelete => false;
        public override string Device => Fdb.Device;
        public override AddressFamily Family => Fdb.Destination.AddressFamily;
        protected override object Subject => Fdb;
    }

    /// <summary><c>bridge fdb del</c>.</summary>
    public sealed record DeleteFdb(PlannedFdb Fdb) : KernelChange
    {
        public override bool IsDelete => true;
        public override string Device => Fdb.Device;
        public override AddressFamily Family => Fdb.Destination.AddressFamily;
        protected override object Subject => Fdb;
    }
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
