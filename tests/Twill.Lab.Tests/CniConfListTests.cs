using System.Text.Json.Nodes;

namespace Twill.Lab.Tests;

public class CniConfListTests
{
    private static readonly Dictionary<string, JsonNode> PortMappings = new()
    {
        ["portMappings"] = new JsonArray(new JsonObject { ["hostPort"] = 30081, ["containerPort"] = 8080, ["protocol"] = "tcp" }),
    };

    [Fact]
    public void PluginConfig_SeedFlannel_GetsNameAndNoRuntimeConfig()
    {
        CniConfList list = CniConfList.Parse(SeedConfig.CniConfList);

        JsonNode flannel = JsonNode.Parse(list.PluginConfig(0, null, PortMappings))!;

        Assert.Equal("vxlan0", (string)flannel["name"]!);
        Assert.Null(flannel["runtimeConfig"]);
        Assert.Null(flannel["prevResult"]);
        Assert.True((bool)flannel["delegate"]!["hairpinMode"]!);
        Assert.Null(flannel["cniVersion"]);
    }

    [Fact]
    public void PluginConfig_Portmap_ChainsPrevResultAndDeclaredCapability()
    {
        CniConfList list = CniConfList.Parse(SeedConfig.CniConfList);
        JsonNode prev = JsonNode.Parse("""{"cniVersion":"1.0.0","ips":[{"address":"10.244.1.2/24"}]}""")!;

        JsonNode portmap = JsonNode.Parse(list.PluginConfig(1, prev, PortMappings))!;

        Assert.Equal("10.244.1.2/24", (string)portmap["prevResult"]!["ips"]![0]!["address"]!);
        Assert.Equal(30081, (int)portmap["runtimeConfig"]!["portMappings"]![0]!["hostPort"]!);
    }

    [Fact]
    public void PluginConfig_Extra_AddedOnlyWhereMissing()
    {
        CniConfList list = CniConfList.Parse("""{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"flannel","ipam":{"dataDir":"/mine"}}]}""");
        Dictionary<string, JsonNode> extra = new()
        {
            ["subnetFile"] = "/lab/node1/subnet.env",
            ["ipam"] = new JsonObject { ["dataDir"] = "/lab/ipam", ["type"] = "host-local" },
        };

        JsonNode c = JsonNode.Parse(list.PluginConfig(0, null, PortMappings, extra))!;

        Assert.Equal("1.0.0", (string)c["cniVersion"]!);
        Assert.Equal("/lab/node1/subnet.env", (string)c["subnetFile"]!);
        Assert.Equal("/mine", (string)c["ipam"]!["dataDir"]!);
        Assert.Equal("host-local", (string)c["ipam"]!["type"]!);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"name":"x"}""", "\"plugins\" must be an array")]
    [InlineData("""{"name":"x","plugins":[{"type":"../evil"}]}""", "must be a plain binary name")]
    [InlineData("""{"plugins":[{}]}""", "\"name\" is missing")]
    public void Parse_Invalid_ErrorNamesTheField(string json, string expected)
    {
        LabConfigException e = Assert.Throws<LabConfigException>(() => CniConfList.Parse(json, "c.json"));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("c.json", e.Message, StringComparison.Ordinal);
    }
}
