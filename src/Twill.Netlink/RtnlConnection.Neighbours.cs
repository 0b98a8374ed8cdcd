using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Twill.Netlink.Protocol;

namespace Twill.Netlink;

public sealed partial class RtnlConnection
{
    /// <summary>`ip neigh replace ADDRESS lladdr MAC dev X nud permanent` (state from the record).</summary>
    public void ReplaceNeighbour(Neighbour neighbour) => ModifyNeighbour(Rtm.NewNeigh, Nl.FCreate | Nl.FReplace, neighbour);

    /// <summary>`ip neigh del ADDRESS dev X`.</summary>
    public void DeleteNeighbour(Neighbour neighbour) => ModifyNeighbour(Rtm.DelNeigh, 0, neighbour);

    /// <summary>`ip neigh show [dev X]` for IPv4 (ARP) or IPv6 (NDP); Unspecified for both.</summary>
    public IReadOnlyList<Neighbour> DumpNeighbours(AddressFamily family, int? index = null) =>
        Dump((NeighbourCodec.FamilyOf(family), index ?? 0), static (ref NetlinkWriter w, uint seq, (byte Family, int Index) s) =>
            NeighbourCodec.WriteDump(ref w, seq, s.Family, s.Index), NeighbourCodec.Decode, "RTM_GETNEIGH dump");

    /// <summary>`bridge fdb append MAC dev X dst IP [port P] [vni V] self permanent` (NLM_F_APPEND: several destinations per MAC allowed).</summary>
    public void AppendFdb(int index, PhysicalAddress mac, IPAddress destination, int? port = null, int? vni = null) =>
        AppendFdb(new FdbEntry(index, mac) { Destination = destination, Port = port, Vni = vni });

    /// <summary>`bridge fdb append ...` for a full entry.</summary>
    public void AppendFdb(FdbEntry entry) => ModifyFdb(Rtm.NewNeigh, Nl.FCreate | Nl.FAppend, entry);

    /// <summary>`bridge fdb replace MAC dev X dst IP ... self permanent`.</summary>
    public void ReplaceFdb(FdbEntry entry) => ModifyFdb(Rtm.NewNeigh, Nl.FCreate | Nl.FReplace, entry);

    /// <summary>`bridge fdb del MAC dev X [dst IP] self`.</summary>
    public void DeleteFdb(FdbEntry entry) => ModifyFdb(Rtm.DelNeigh, 0, entry);

    /// <summary>`bridge fdb show [dev X]`.</summary>
    public IReadOnlyList<FdbEntry> DumpFdb(int? index = null) =>
        Dump(index ?? 0, static (ref NetlinkWriter w, uint seq, int i) => NeighbourCodec.WriteDump(ref w, seq, Af.Bridge, i),
            NeighbourCodec.DecodeFdb, "RTM_GETNEIGH AF_BRIDGE dump");

    private void ModifyNeighbour(ushort type, ushort flags, Neighbour neighbour)
    {
        ArgumentNullException.ThrowIfNull(neighbour);
        Execute((type, flags, neighbour), static (ref NetlinkWriter w, uint seq, (ushort Type, ushort Flags, Neighbour N) s) =>
            NeighbourCodec.Write(ref w, s.Type, (ushort)(Nl.FRequest | Nl.FAck | s.Flags), seq, s.N), static ((ushort Type, ushort Flags, Neighbour N) s) => s.N.ToString());
    }

    private void ModifyFdb(ushort type, ushort flags, FdbEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Execute((type, flags, entry), static (ref NetlinkWriter w, uint seq, (ushort Type, ushort Flags, FdbEntry E) s) =>
            NeighbourCodec.WriteFdb(ref w, s.Type, (ushort)(Nl.FRequest | Nl.FAck | s.Flags), seq, s.E), static ((ushort Type, ushort Flags, FdbEntry E) s) => s.E.ToString());
    }
}
