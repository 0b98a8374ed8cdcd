using System.Buffers.Binary;

namespace Twill.Netlink.Protocol;

/// <summary>
/// NLMSG_ERROR payload: struct nlmsgerr { int error; struct nlmsghdr msg; } then, with
/// NLM_F_ACK_TLVS, extended-ACK attributes. Without NLM_F_CAPPED the original request's payload
/// sits between the two.
/// <code>
///  nlmsghdr(16) | error(4) | original nlmsghdr(16) | [original payload] | NLMSGERR_ATTR_* TLVs
/// </code>
/// </summary>
internal readonly struct ErrorMessage
{
    private const int ErrorOffset = Nl.HeaderSize;
    private const int OriginalHeaderOffset = Nl.HeaderSize + 4;

    public ErrorMessage(int error, string? kernelMessage)
    {
        Error = error;
        KernelMessage = kernelMessage;
    }

    /// <summary>0 for an ACK, else a negative errno.</summary>
    public int Error { get; }

    /// <summary>NLMSGERR_ATTR_MSG, if sent.</summary>
    public string? KernelMessage { get; }

    public static ErrorMessage Parse(ReadOnlySpan<byte> message, ushort flags)
    {
        if (message.Length < OriginalHeaderOffset)
        {
            ThrowHelper.Malformed($"NLMSG_ERROR of {message.Length} bytes");
        }
        int error = BinaryPrimitives.ReadInt32LittleEndian(message[ErrorOffset..]);
        string? text = null;
        if ((flags & Nl.FAckTlvs) != 0 && message.Length >= OriginalHeaderOffset + Nl.HeaderSize)
        {
            int tlvOffset = OriginalHeaderOffset + Nl.HeaderSize;
            if ((flags & Nl.FCapped) == 0)
            {
                uint originalLength = BinaryPrimitives.ReadUInt32LittleEndian(message[OriginalHeaderOffset..]);
                tlvOffset = OriginalHeaderOffset + NetlinkWriter.Align((int)Math.Min(originalLength, (uint)message.Length));
            }
            if (tlvOffset < message.Length)
            {
                AttributeReader attrs = new(message[tlvOffset..]);
                while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
                {
                    if (type == Nl.ErrAttrMsg)
                    {
                        text = Attr.String(value);
                    }
                }
            }
        }
        return new ErrorMessage(error, text);
    }

    /// <summary>The errno carried by a NLMSG_DONE (a dump that failed part-way reports it there).</summary>
    public static int DoneError(ReadOnlySpan<byte> message) =>
        message.Length >= Nl.HeaderSize + 4 ? BinaryPrimitives.ReadInt32LittleEndian(message[Nl.HeaderSize..]) : 0;
}
