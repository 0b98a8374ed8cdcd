namespace Twill.Lab.Tests;

/// <summary>`twill lab status --store kube`: the Node columns read from kubectl's NodeList (pure).</summary>
public sealed class LabKubeStoreStatusTests
{
    private const string NodeList = """
        {"apiVersion":"v1","kind":"List","items":[
          {"metadata":{"name":"node1","annotations":{
             "flannel.alpha.coreos.com/backend-type":"vxlan",
             "flannel.alpha.coreos.com/backend-data":"{\"VNI\":4096,\"VtepMAC\":\"0a:11:22:33:44:55\"}",
             "flannel.alpha.coreos.com/public-ip":"192.0.2.11",
             "flannel.alpha.coreos.com/backend-v6-data":"{\"VNI\":4096,\"VtepMAC\":\"0a:11:22:33:44:66\"}",
             "flannel.alpha.coreos.com/public-ipv6":"2001:db8::11"}},
           "spec":{"podCIDR":"10.244.0.0/24","podCIDRs":["10.244.0.0/24","fd00:10:244::/64"]},
           "status":{"conditions":[
             {"type":"Ready","status":"True","reason":"KubeletReady"},
             {"type":"NetworkUnavailable","status":"False","reason":"FlannelIsUp"}]}},
          {"metadata":{"name":"node2","annotations":{
             "flannel.alpha.coreos.com/backend-type":"host-gw",
             "flannel.alpha.coreos.com/backend-data":"null",
             "flannel.alpha.coreos.com/public-ip":"192.0.2.12"}},
           "spec":{"podCIDR":"10.244.1.0/24"},
           "status":{}},
          {"metadata":{"name":"node3"},"spec":{}}
        ]}
        """;

    [Fact]
    public void Parse_ShowsAnnotationsVtepMacsAndNetworkUnavailable_DashForWhatANodeLacks()
    {
        IReadOnlyList<KubeNodeStatus> rows = LabKubeStatus.Parse(NodeList);

        Assert.Equal(
        [
            new KubeNodeStatus("node1", "10.244.0.0/24,fd00:10:244::/64", "vxlan", "192.0.2.11", "0a:11:22:33:44:55", "2001:db8::11", "0a:11:22:33:44:66", "False (FlannelIsUp)"),
            new KubeNodeStatus("node2", "10.244.1.0/24", "host-gw", "192.0.2.12", "(null)", "-", "-", "-"),
            new KubeNodeStatus("node3", "-", "-", "-", "-", "-", "-", "-"),
        ], rows);
    }
}
