using Twill.KubeApi.Http;

namespace Twill.KubeApi.Tests;

public sealed class OptionsTests
{
    [Fact]
    public void Parse_KubeApiserverFlagNames_BothForms()
    {
        ServerOptions o = ServerOptions.Parse(["--etcd-servers=http://127.0.0.1:2379,http://127.0.0.1:22379", "--secure-port", "0", "--insecure-port=8080", "--watch-bookmark-interval=500ms"]);
        Assert.Equal(2, o.EtcdServers.Count);
        Assert.Equal(0, o.SecurePort);
        Assert.Equal(8080, o.InsecurePort);
        Assert.Equal(TimeSpan.FromMilliseconds(500), o.WatchBookmarkInterval);
    }

    [Theory]
    [InlineData(new[] { "--secure-port=0", "--insecure-port=8080" }, "--etcd-servers")]
    [InlineData(new[] { "--etcd-servers=http://e:2379" }, "--tls-cert-file")]
    [InlineData(new[] { "--etcd-servers=ftp://e", "--secure-port=0", "--insecure-port=1" }, "ftp://e")]
    [InlineData(new[] { "--etcd-servers=http://e:2379", "--secure-port=99999" }, "99999")]
    [InlineData(new[] { "--etcd-servers=http://e:2379", "--frobnicate=1" }, "--frobnicate")]
    public void Parse_BadCommandLine_NamesTheFlagOrValue(string[] args, string named) =>
        Assert.Contains(named, Assert.Throws<UsageException>(() => ServerOptions.Parse(args)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "Table")]
    [InlineData("application/json", "Object")]
    [InlineData("*/*", "Object")]
    [InlineData(null, "Object")]
    [InlineData("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "PartialObjectMetadata")]
    [InlineData("application/json;as=Table;v=v9;g=meta.k8s.io,application/json", "Object")]
    public void Accept_NegotiatesAsKubeApiserver(string? accept, string rendering) =>
        Assert.Equal(rendering, Negotiated.FromAccept(accept).Rendering.ToString());

    [Fact]
    public void Accept_ProtobufOnly_406()
    {
        ApiError e = Assert.Throws<ApiError>(() => Negotiated.FromAccept("application/vnd.kubernetes.protobuf"));
        Assert.Equal(406, e.Code);
    }
}
