using System.Net.NetworkInformation;
using Twill.Backends;
using Twill.Core;

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
        string path = Path.Combine(stateDir, "vtep-mac-" + deviceName);
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
        Directory.CreateDirectory(stateDir);
        string temp = path + ".tmp";
        File.WriteAllText(temp, mac.ToColonString() + "\n");
        File.Move(temp, path, overwrite: true);
        return mac;
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
}
