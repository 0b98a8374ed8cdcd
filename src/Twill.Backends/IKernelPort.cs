using System.Net.NetworkInformation;

namespace Twill.Backends;

/// <summary>
/// The reconciler's view of one network namespace's kernel: read Twill's objects, change the device,
/// apply object changes in a batch. The netlink implementation is <c>RtnlKernelPort</c>; tests also use
/// an in-memory kernel. Calls are synchronous: they are short kernel round trips.
/// </summary>
public interface IKernelPort
{
    /// <summary>
    /// Twill's objects: every <c>flannel.*</c> VXLAN device; addresses, neighbours and FDB entries on
    /// <paramref name="deviceName"/> (when given and present); every route with protocol Twill.
    /// </summary>
    KernelState Read(string? deviceName);

    /// <summary>Creates the VXLAN device (with its MAC when the plan has one), sets it up; throws on failure.</summary>
    void CreateDevice(PlannedDevice device);

    /// <summary>Deletes a device by name; no error when it is already gone.</summary>
    void DeleteDevice(string name);

    /// <summary>Sets MTU, MAC (when given) and up on an existing device; throws on failure.</summary>
    void UpdateDevice(string name, int mtu, PhysicalAddress? mac);

    /// <summary>Applies changes as one batch; returns, per change in order, null on success or why it failed.</summary>
    IReadOnlyList<KernelFailure?> Apply(IReadOnlyList<KernelChange> changes);
}
