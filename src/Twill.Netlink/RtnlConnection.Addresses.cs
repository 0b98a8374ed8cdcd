using System.Net;
using System.Net.Sockets;
using Twill.Netlink.Protocol;

namespace Twill.Netlink;

public sealed partial class RtnlConnection
{
    /// <summary>`ip addr add ADDRESS/PREFIX [brd BROADCAST] dev X [nodad]`; EEXIST when already there.</summary>
    public void AddAddress(int index, IPAddress address, int prefixLength, bool noDad = false, IPAddress? broadcast = null) =>
        ModifyAddress(Rtm.NewAddr, Nl.FCreate | Nl.FExcl, index, address, prefixLength, noDad, broadcast);

    /// <summary>`ip addr add ADDRESS/PREFIX dev X scope S` with the scope and IFA_F_* flags (e.g. nodad) of the record.</summary>
    public void AddAddress(IfAddress address) => ModifyAddress(Rtm.NewAddr, Nl.FCreate | Nl.FExcl, address);

    /// <summary>`ip addr replace ...` with the scope and flags of the record.</summary>
    public void ReplaceAddress(IfAddress address) => ModifyAddress(Rtm.NewAddr, Nl.FCreate | Nl.FReplace, address);

    /// <summary>`ip addr replace ADDRESS/PREFIX [brd BROADCAST] dev X [nodad]`: adds, or updates an existing one.</summary>
    public void ReplaceAddress(int index, IPAddress address, int prefixLength, bool noDad = false, IPAddress? broadcast = null) =>
        ModifyAddress(Rtm.NewAddr, Nl.FCreate | Nl.FReplace, index, address, prefixLength, noDad, broadcast);

    /// <summary>`ip addr del ADDRESS/PREFIX dev X`.</summary>
    public void DeleteAddress(int index, IPAddress address, int prefixLength) =>
        ModifyAddress(Rtm.DelAddr, 0, index, address, prefixLength, false, null);

    /// <summary>`ip addr show [dev X]`, IPv4 and/or IPv6 (<see cref="AddressFamily.Unspecified"/> for both).</summary>
    public IReadOnlyList<IfAddress> DumpAddresses(AddressFamily family = AddressFamily.Unspecified, int? index = null) =>
        Dump((family, index ?? 0), static (ref NetlinkWriter w, uint seq, (AddressFamily Family, int Index) s) =>
            AddressCodec.WriteDump(ref w, seq, s.Family, s.Index), AddressCodec.Decode, "RTM_GETADDR dump");

    private void ModifyAddress(ushort type, ushort flags, int index, IPAddress address, int prefixLength, bool noDad, IPAddress? broadcast)
    {
        ArgumentNullException.ThrowIfNull(address);
        ModifyAddress(type, flags, new IfAddress(index, address, prefixLength)
        {
            Flags = noDad ? AddressFlags.NoDad : AddressFlags.None,
            Broadcast = broadcast,
        });
    }

    private void ModifyAddress(ushort type, ushort flags, IfAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Execute((type, flags, address),
            static (ref NetlinkWriter w, uint seq, (ushort Type, ushort Flags, IfAddress A) s) =>
                AddressCodec.Write(ref w, s.Type, (ushort)(Nl.FRequest | Nl.FAck | s.Flags), seq, s.A.Index, s.A.Address, s.A.PrefixLength,
                    s.A.Flags, s.A.Scope, s.Type == Rtm.NewAddr ? s.A.Broadcast : null),
            static ((ushort Type, ushort Flags, IfAddress A) s) => s.A.ToString());
    }
}
