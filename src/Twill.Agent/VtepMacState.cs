using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Twill.Backends;
using Twill.Core;
using Twill.Leases;

namespace Twill.Agent;

/// <summary>
/// The VtepMAC kept across restarts in <c>STATE_DIR/vtep-mac-&lt;device&gt;</c>, so peers' FDB and
/// neighbour entries stay right when the agent (or the node) restarts. Chosen once: the MAC of an
/// existing device of that name (taking over from Flannel keeps what peers already know), else a
/// random locally administered unicast address. Written atomically.
/// </summary>
public static class VtepMacState
{
    public static PhysicalAddress LoadOrCreate(string stateDir, string deviceName, PhysicalAddress? existingDeviceMac)
    {
        string path = PathOf(stateDir, deviceName);
        if (File.Exists(path))
        {
            string text = File.ReadAllText(path).Trim();
            try
            {
                return PhysicalAddress.Parse(text);
            }
            catch (FormatException)
            {
                // Fall through: a corrupt state file is replaced, like a missing one.
            }
        }
        PhysicalAddress mac = existingDeviceMac is not null && existingDeviceMac.GetAddressBytes().Length == 6 ? existingDeviceMac : Random();
        Save(path, mac);
        return mac;
    }

    /// <summary>A new random VtepMAC for <paramref name="deviceName"/>, saved in place of the old one.</summary>
    public static PhysicalAddress Renew(string stateDir, string deviceName)
    {
        PhysicalAddress mac = Random();
        Save(PathOf(stateDir, deviceName), mac);
        return mac;
    }

    /// <summary>The key of the first lease in <paramref name="others"/> that publishes <paramref name="mac"/> for <paramref name="family"/>; null when none does.</summary>
    public static string? HeldBy(IEnumerable<Lease> others, PhysicalAddress mac, AddressFamily family)
    {
        ArgumentNullException.ThrowIfNull(others);
        ArgumentNullException.ThrowIfNull(mac);
        foreach (Lease lease in others)
        {
            VxlanLeaseData? data = family == AddressFamily.InterNetworkV6 ? lease.Attrs.VxlanV6Data : lease.Attrs.VxlanData;
            if (data is { HasVtepMac: true, VtepMac: PhysicalAddress theirs } && theirs.Equals(mac))
            {
                return lease.Key;
            }
        }
        return null;
    }

    /// <summary>A random MAC with the locally-administered bit set and the multicast bit clear.</summary>
    public static PhysicalAddress Random()
    {
        // The kernel's random source, read directly: RandomNumberGenerator would load OpenSSL (~4 MB resident) for six bytes.
        byte[] bytes = new byte[6];
        using (FileStream urandom = File.OpenRead("/dev/urandom"))
        {
            urandom.ReadExactly(bytes);
        }
        bytes[0] = (byte)((bytes[0] & 0xFE) | 0x02);
        return new PhysicalAddress(bytes);
    }

    private static string PathOf(string stateDir, string deviceName) => Path.Combine(stateDir, "vtep-mac-" + deviceName);

    private static void Save(string path, PhysicalAddress mac)
    {
        Twill.Os.PrivateFiles.WriteAtomically(path, mac.ToColonString() + "\n");
    }
}

/// <summary>
/// This node's VtepMAC of each family, kept unique among the leases: a MAC from the state file (a
/// node image cloned with its <c>/var/lib/twill</c>, two agents sharing one state directory) or from an
/// existing device that another node's lease already publishes would make each node ignore the other
/// (<see cref="PeerChecks"/>: "already another peer's") and their pods could not talk. Given each
/// listing the lease manager sees before it publishes, such a MAC is replaced by a new one (saved,
/// and logged with the lease that holds the old one); the reconciler then resets the device's MAC.
/// </summary>
internal sealed class VtepMacClaim(string stateDir, BackendSettings settings, UnderlayChoice underlays, Dictionary<AddressFamily, PhysicalAddress?> macs, ILogger log)
{
    /// <summary>The MAC of each family, as finally published.</summary>
    public IReadOnlyDictionary<AddressFamily, PhysicalAddress?> Macs => macs;

    /// <summary>For <see cref="LeaseManagerOptions.ReviseAttrs"/>: <paramref name="attrs"/> with every MAC another lease holds replaced.</summary>
    public LeaseAttrs Revise(IReadOnlyList<Lease> others, LeaseAttrs attrs)
    {
        bool changed = false;
        foreach (AddressFamily family in macs.Keys.ToList())
        {
            if (macs[family] is PhysicalAddress mac && VtepMacState.HeldBy(others, mac, family) is string holder)
            {
                string device = settings.DeviceNameFor(family);
                PhysicalAddress fresh = VtepMacState.Renew(stateDir, device);
                log.LogWarning("VtepMAC {Mac} of {Device} is already published by lease {Holder} (a cloned or shared state directory?); taking a new one, {Fresh}",
                    mac.ToColonString(), device, holder, fresh.ToColonString());
                macs[family] = fresh;
                changed = true;
            }
        }
        return changed ? Attrs() : attrs;
    }

    /// <summary>What this node publishes with the current MACs.</summary>
    public LeaseAttrs Attrs() => DualStack.LeaseAttrsFor(settings, underlays,
        macs.GetValueOrDefault(AddressFamily.InterNetwork), macs.GetValueOrDefault(AddressFamily.InterNetworkV6));
}
