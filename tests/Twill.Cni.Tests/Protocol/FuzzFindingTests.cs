using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twill.Cni.Plugins.Flannel;
using Twill.Cni.Plugins.HostLocal;
using Twill.Cni.Protocol;
using Twill.Core;

namespace Twill.Cni.Tests;

/// <summary>
/// Configs AFL++ found (make fuzz TARGET=cni-config, fuzz/README.md) that reached the runtime as
/// code 999 with .NET's exception text instead of a CNI error naming the problem.
/// </summary>
public sealed class FuzzFindingTests
{
    private static byte[] Config(string before, byte[] raw, string after) =>
        [.. Encoding.UTF8.GetBytes(before), .. raw, .. Encoding.UTF8.GetBytes(after)];

    public static TheoryData<byte[]> BadText => new()
    {
        // a value with a byte that starts no UTF-8 sequence (0xff), as the fuzzer made it in "bridge"
        Config("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\",\"bridge\":\"", [0xff], "\"}"),
        // a continuation byte alone, in a key of a nested object (host-local reads ipam's keys)
        Config("""{"cniVersion":"1.0.0","name":"n","type":"host-local","ipam":{"a""", [0x80], "\":1}}"),
        // deep in a prevResult, which portmap reads only later
        Config("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"portmap\",\"prevResult\":{\"ips\":[{\"address\":\"", [0xc3, 0x28], "\"}]}}"),
    };

    [Theory]
    [MemberData(nameof(BadText))]
    public void ParseConfig_StringThatIsNotUtf8_IsADecodingFailure(byte[] config)
    {
        CniException e = Assert.Throws<CniException>(() => CniInvocation.ParseConfig(config));
        Assert.Equal(CniErrorCode.DecodingFailure, e.Code);
    }

    [Fact]
    public void ParseConfig_EscapedLoneSurrogate_IsADecodingFailure()
    {
        CniException e = Assert.Throws<CniException>(() => CniInvocation.ParseConfig(
            Encoding.UTF8.GetBytes("""{"cniVersion":"1.0.0","name":"n","type":"bridge","bridge":"\udc00"}""")));
        Assert.Equal(CniErrorCode.DecodingFailure, e.Code);
    }

    [Fact]
    public void ParseConfig_ValidText_StillReads()
    {
        (_, string version, string name, string type) = CniInvocation.ParseConfig(
            Encoding.UTF8.GetBytes("""{"cniVersion":"1.0.0","name":"n","type":"bridge","bridge":"cni\u00e90","note":"\ud83d\ude00 café"}"""));
        Assert.Equal(("1.0.0", "n", "bridge"), (version, name, type));
    }

    // Found as "An item with the same key has already been added. Key: type" from DeriveDelegate:
    // JsonNode.Parse keeps both keys and throws when the object is first used. Go keeps the last.
    [Theory]
    [InlineData("""{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","delegate":{"type":"bridge","type":"ptp"}}""", "ptp")]
    [InlineData("""{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","name":"cbr0","delegate":{"hairpinMode":false,"hairpinMode":true}}""", "bridge")]
    public void FlannelDelegate_RepeatedKey_LastOneWinsAsInGo(string conf, string type)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(conf);
        (JsonElement root, _, string name, _) = CniInvocation.ParseConfig(bytes);

        JsonObject dlg = (JsonObject)JsonNode.Parse(FlannelPlugin.DeriveDelegate(FlannelPlugin.ParseObject(bytes), SubnetEnv.Parse("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n"), name, root))!;

        Assert.Equal(type, dlg["type"]!.GetValue<string>());
        if (dlg["hairpinMode"] is JsonNode hairpin)
        {
            Assert.True(hairpin.GetValue<bool>());
        }
    }

    [Fact]
    public void FlannelDelegate_RepeatedIpamKey_LastOneWins()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("""{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","ipam":{"rangeEnd":"10.244.3.9","rangeEnd":"10.244.3.20"}}""");
        (JsonElement root, _, string name, _) = CniInvocation.ParseConfig(bytes);

        byte[] dlg = FlannelPlugin.DeriveDelegate(FlannelPlugin.ParseObject(bytes), SubnetEnv.Parse("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n"), name, root);
        (JsonElement delegated, string version, string dname, string dtype) = CniInvocation.ParseConfig(dlg);
        HostLocalConfig conf = HostLocalConfig.Load(new CniInvocation { Command = "ADD", StdinData = dlg, Config = delegated, CniVersion = version, Name = dname, Type = dtype });

        Assert.Contains("\"rangeEnd\":\"10.244.3.20\"", Encoding.UTF8.GetString(dlg), StringComparison.Ordinal);
        Assert.NotNull(conf);
    }
}
