using System.Text;
using System.Text.Json.Nodes;
using Twill.KubeApi.Patching;
using Twill.KubeApi.Resources;

namespace Twill.KubeApi.Tests;

/// <summary>The three patch types on node JSON, without a server.</summary>
public sealed class PatchesTests
{
    private static JsonObject Node() => (JsonObject)JsonNode.Parse("""
        {"kind":"Node","apiVersion":"v1","metadata":{"name":"n1","labels":{"a":"1","b":"2"},"finalizers":["f1"]},
         "spec":{"podCIDRs":["10.244.1.0/24"],"taints":[{"key":"k1","effect":"NoSchedule"}]},
         "status":{"conditions":[{"type":"Ready","status":"True"},{"type":"NetworkUnavailable","status":"True"}],"images":[{"names":["a"]},{"names":["b"]}]}}
        """)!;

    private static JsonObject Apply(string type, string patch) => Patches.Apply(type, Node(), Encoding.UTF8.GetBytes(patch), Nodes.Instance.MergeLists);

    private static string[] Types(JsonObject n) => [.. n["status"]!["conditions"]!.AsArray().Select(c => c!["type"]!.GetValue<string>())];

    [Fact]
    public void MergePatch_NullDeletes_MapsMerge_ListsReplace()
    {
        JsonObject n = Apply(Patches.Merge, """{"metadata":{"labels":{"a":null,"c":"3"}},"status":{"conditions":[{"type":"Ready","status":"False"}]}}""");
        Assert.Equal("""{"b":"2","c":"3"}""", n["metadata"]!["labels"]!.ToJsonString());
        Assert.Equal(["Ready"], Types(n));
    }

    [Fact]
    public void Strategic_ConditionsMergeByType_UnkeyedListsReplace()
    {
        JsonObject n = Apply(Patches.Strategic, """{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False"},{"type":"MemoryPressure","status":"False"}],"images":[{"names":["c"]}]}}""");
        Assert.Equal(["Ready", "NetworkUnavailable", "MemoryPressure"], Types(n));
        Assert.Equal("False", n["status"]!["conditions"]![1]!["status"]!.GetValue<string>());
        Assert.Single(n["status"]!["images"]!.AsArray());
    }

    [Fact]
    public void Strategic_Directives_DeleteElementReplaceListDeleteFromPrimitiveListDeleteMap()
    {
        JsonObject deleted = Apply(Patches.Strategic, """{"status":{"conditions":[{"type":"Ready","$patch":"delete"}]}}""");
        Assert.Equal(["NetworkUnavailable"], Types(deleted));

        JsonObject replaced = Apply(Patches.Strategic, """{"status":{"conditions":[{"type":"X","status":"True"},{"$patch":"replace"}]}}""");
        Assert.Equal(["X"], Types(replaced));

        JsonObject primitive = Apply(Patches.Strategic, """{"metadata":{"$deleteFromPrimitiveList/finalizers":["f1"]}}""");
        Assert.Empty(primitive["metadata"]!["finalizers"]!.AsArray());

        JsonObject map = Apply(Patches.Strategic, """{"metadata":{"labels":{"$patch":"replace","z":"9"}}}""");
        Assert.Equal("""{"z":"9"}""", map["metadata"]!["labels"]!.ToJsonString());

        JsonObject taint = Apply(Patches.Strategic, """{"spec":{"taints":[{"key":"k2","effect":"NoExecute"}]}}""");
        Assert.Equal(2, taint["spec"]!["taints"]!.AsArray().Count);
    }

    [Fact]
    public void Strategic_KeyedElementWithoutItsKey_IsABadRequest()
    {
        ApiError e = Assert.Throws<ApiError>(() => Apply(Patches.Strategic, """{"status":{"conditions":[{"status":"True"}]}}"""));
        Assert.Equal(400, e.Code);
        Assert.Contains("merge key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonPatch_AddReplaceRemoveMoveCopyTest_WithEscapedPointers()
    {
        JsonObject n = Apply(Patches.Json, """
            [{"op":"add","path":"/metadata/annotations","value":{"x/y":"1"}},
             {"op":"replace","path":"/metadata/annotations/x~1y","value":"2"},
             {"op":"copy","from":"/metadata/labels/a","path":"/metadata/labels/c"},
             {"op":"move","from":"/metadata/labels/b","path":"/metadata/labels/d"},
             {"op":"remove","path":"/status/conditions/0"},
             {"op":"add","path":"/spec/podCIDRs/-","value":"fd00::/64"},
             {"op":"test","path":"/metadata/labels/d","value":"2"}]
            """);
        Assert.Equal("2", n["metadata"]!["annotations"]!["x/y"]!.GetValue<string>());
        Assert.Equal(["a", "c", "d"], n["metadata"]!["labels"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["NetworkUnavailable"], Types(n));
        Assert.Equal(2, n["spec"]!["podCIDRs"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("""[{"op":"test","path":"/metadata/name","value":"other"}]""", 422)]
    [InlineData("""[{"op":"remove","path":"/metadata/nothing"}]""", 422)]
    [InlineData("""[{"op":"add","path":"/no/such/parent","value":1}]""", 422)]
    [InlineData("""[{"op":"frobnicate","path":"/a"}]""", 400)]
    [InlineData("""[{"op":"add","path":"no-slash","value":1}]""", 400)]
    [InlineData("""{"op":"add"}""", 400)]
    [InlineData("""not json""", 400)]
    public void JsonPatch_Failures_HaveKubeApiserversCodes(string patch, int code)
    {
        ApiError e = Assert.Throws<ApiError>(() => Apply(Patches.Json, patch));
        Assert.Equal(code, e.Code);
    }
}
