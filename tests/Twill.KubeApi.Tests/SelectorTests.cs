using System.Text.Json.Nodes;
using Twill.KubeApi.Resources;
using Twill.KubeApi.Storage;

namespace Twill.KubeApi.Tests;

public sealed class SelectorTests
{
    private static readonly JsonObject s_node = (JsonObject)JsonNode.Parse("""{"metadata":{"name":"n1","labels":{"env":"prod","tier":"web","kubernetes.io/os":"linux"}},"spec":{"unschedulable":true}}""")!;

    [Theory]
    [InlineData("", true)]
    [InlineData("env=prod", true)]
    [InlineData("env==prod", true)]
    [InlineData("env=dev", false)]
    [InlineData("env!=dev", true)]
    [InlineData("missing!=x", true)]
    [InlineData("env in (dev, prod)", true)]
    [InlineData("env notin (prod)", false)]
    [InlineData("missing notin (prod)", true)]
    [InlineData("tier", true)]
    [InlineData("!tier", false)]
    [InlineData("!missing", true)]
    [InlineData("kubernetes.io/os=linux,env in (prod),tier", true)]
    [InlineData("kubernetes.io/os=linux,env=dev", false)]
    public void LabelSelector_MatchesAsApimachinery(string selector, bool matches) =>
        Assert.Equal(matches, LabelSelector.Parse(selector).Matches(s_node));

    [Theory]
    [InlineData("env=pr od")]
    [InlineData("env in prod")]
    [InlineData("=x")]
    [InlineData("a,,b")]
    public void LabelSelector_Malformed_BadRequest(string selector) =>
        Assert.Equal(400, Assert.Throws<ApiError>(() => LabelSelector.Parse(selector)).Code);

    [Theory]
    [InlineData("metadata.name=n1", true)]
    [InlineData("metadata.name!=n1", false)]
    [InlineData("spec.unschedulable=true", true)]
    [InlineData("metadata.name=n1,spec.unschedulable=false", false)]
    public void FieldSelector_NodeFields(string selector, bool matches) =>
        Assert.Equal(matches, FieldSelector.Parse(selector, Nodes.Instance).Matches(s_node));

    [Fact]
    public void FieldSelector_UnknownField_BadRequestNamingIt()
    {
        ApiError e = Assert.Throws<ApiError>(() => FieldSelector.Parse("spec.podCIDR=x", Nodes.Instance));
        Assert.Equal(400, e.Code);
        Assert.Contains("spec.podCIDR", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ContinueToken_RoundTrips_AndIsKubeApiserversFormat()
    {
        ContinueToken t = new(42, "node-3\0");
        string encoded = t.Encode();
        Assert.DoesNotContain('=', encoded);
        Assert.Equal(t, ContinueToken.Decode(encoded));
        string b64 = encoded.Replace('-', '+').Replace('_', '/');
        string json = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=')));
        Assert.Equal("""{"v":"meta.k8s.io/v1","rv":42,"start":"node-3\u0000"}""", json);
    }

    [Theory]
    [InlineData("!!!")]
    [InlineData("eyJ2IjoibWV0YS5rOHMuaW8vdjIiLCJydiI6MSwic3RhcnQiOiJhIn0")]
    [InlineData("eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiIuLi9zZWNyZXRzIn0")]
    public void ContinueToken_Invalid_BadRequest(string token) =>
        Assert.Equal(400, Assert.Throws<ApiError>(() => ContinueToken.Decode(token)).Code);

    [Theory]
    [InlineData(5, "5s")]
    [InlineData(119, "119s")]
    [InlineData(150, "2m30s")]
    [InlineData(600, "10m")]
    [InlineData(3 * 3600 + 300, "3h5m")]
    [InlineData(30 * 3600, "30h")]
    [InlineData(3 * 86400 + 3600, "3d1h")]
    [InlineData(100 * 86400, "100d")]
    public void Age_IsHumanDuration(int seconds, string expected) => Assert.Equal(expected, Age.Human(TimeSpan.FromSeconds(seconds)));
}
