using System.Buffers.Binary;
using Twill.Netlink.Protocol;

namespace Twill.Netlink.Tests;

public sealed class WireTests
{
    [Theory]
    [InlineData("vx0", "0800030076783000")]
    [InlineData("eth0", "0900030065746830" + "00000000")]
    [InlineData("flannel.1", "0E000300666C616E6E656C2E" + "31000000")]
    public void WriteString_NulTerminatedAndPadded(string value, string expectedHex)
    {
        byte[] buffer = new byte[64];
        NetlinkWriter w = new(buffer);

        w.WriteString(3, value);

        Assert.Equal(expectedHex, Convert.ToHexString(w.Written));
    }

    [Fact]
    public void BeginNested_Token_FillsLengthAndNestedFlag()
    {
        byte[] buffer = new byte[64];
        NetlinkWriter w = new(buffer);

        int outer = w.BeginNested(18);
        w.WriteU8(1, 5);
        int inner = w.BeginNested(2);
        w.WriteU32(3, 0xdeadbeef);
        w.EndNested(inner);
        w.EndNested(outer);

        Assert.Equal("18001280" + "05000100" + "05000000" + "0C000280" + "08000300" + "EFBEADDE", Convert.ToHexString(w.Written));
    }

    [Fact]
    public void Writer_Overflow_Throws()
    {
        byte[] buffer = new byte[8];

        Assert.ThrowsAny<ArgumentException>(() =>
        {
            NetlinkWriter w = new(buffer);
            w.WriteU32(1, 1);
            w.WriteU32(2, 2);
        });
    }

    [Fact]
    public void AttributeReader_LengthBeyondBuffer_Throws()
    {
        byte[] attrs = Convert.FromHexString("C8000100" + "01020304" + "05060708");

        Assert.Throws<InvalidDataException>(() =>
        {
            AttributeReader r = new(attrs);
            r.TryRead(out _, out _);
        });
    }

    [Fact]
    public void AttributeReader_LengthBelowHeader_Throws()
    {
        byte[] attrs = Convert.FromHexString("02000100");

        Assert.Throws<InvalidDataException>(() =>
        {
            AttributeReader r = new(attrs);
            r.TryRead(out _, out _);
        });
    }

    [Fact]
    public void MessageReader_LengthBeyondDatagram_Throws()
    {
        byte[] datagram = Fixtures.OnlinkRoute[..40];

        Assert.Throws<InvalidDataException>(() =>
        {
            MessageReader r = new(datagram);
            r.TryRead(out _, out _);
        });
    }

    [Fact]
    public void AttrU32_ShortValue_Throws()
    {
        Assert.Throws<InvalidDataException>(() => Attr.U32([1, 2]));
    }

    [Fact]
    public void ErrorMessage_CappedWithExtendedAck_ReadsErrnoAndText()
    {
        byte[] msg = ErrorWithMessage(capped: true, originalPayload: [], text: "Nexthop has invalid gateway");

        ErrorMessage e = ErrorMessage.Parse(msg, (ushort)(Nl.FCapped | Nl.FAckTlvs));

        Assert.Equal(-101, e.Error);
        Assert.Equal("Nexthop has invalid gateway", e.KernelMessage);
    }

    [Fact]
    public void ErrorMessage_UncappedEchoesRequest_SkipsItToTheText()
    {
        byte[] msg = ErrorWithMessage(capped: false, originalPayload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], text: "bad");

        ErrorMessage e = ErrorMessage.Parse(msg, Nl.FAckTlvs);

        Assert.Equal(-101, e.Error);
        Assert.Equal("bad", e.KernelMessage);
    }

    [Fact]
    public void ErrorMessage_PlainAck_ZeroAndNoText()
    {
        byte[] msg = ErrorWithMessage(capped: true, originalPayload: [], text: null);

        ErrorMessage e = ErrorMessage.Parse(msg, Nl.FCapped);

        Assert.Equal(-101, e.Error);
        Assert.Null(e.KernelMessage);
    }

    [Fact]
    public void NetlinkException_Message_NamesRequestErrnoAndKernelText()
    {
        NetlinkException e = new(Errno.ENETUNREACH, "RTM_NEWROUTE 10.244.2.0/24", "Nexthop has invalid gateway");

        Assert.Equal("RTM_NEWROUTE 10.244.2.0/24: Network is unreachable (Nexthop has invalid gateway)", e.Message);
        Assert.Equal("RTM_NEWROUTE 10.244.2.0/24: File exists", new NetlinkException(Errno.EEXIST, "RTM_NEWROUTE 10.244.2.0/24").Message);
        Assert.Equal("errno 1234", ErrnoText.Describe((Errno)1234));
    }

    /// <summary>nlmsghdr | error -101 | original nlmsghdr | [original payload] | NLMSGERR_ATTR_MSG.</summary>
    private static byte[] ErrorWithMessage(bool capped, byte[] originalPayload, string? text)
    {
        List<byte> b = [];
        byte[] hdr = new byte[16];
        b.AddRange(hdr);
        b.AddRange(BitConverter.GetBytes(-101));
        byte[] orig = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(orig, (uint)(16 + originalPayload.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(orig.AsSpan(4), 24);
        b.AddRange(orig);
        if (!capped)
        {
            b.AddRange(originalPayload);
        }
        if (text is not null)
        {
            byte[] attr = new byte[NetlinkWriter.Align(4 + text.Length + 1)];
            NetlinkWriter w = new(attr);
            w.WriteString(Nl.ErrAttrMsg, text);
            b.AddRange(attr);
        }
        byte[] msg = [.. b];
        BinaryPrimitives.WriteUInt32LittleEndian(msg, (uint)msg.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(4), Nl.Error);
        return msg;
    }
}
