using System.Net.Sockets;
using System.Text;
using Twill.Bgp.Wire;
using Twill.Leases.Store;
using Twill.Netlink;
using Twill.Netlink.Protocol;
using Twill.Testing;

namespace Twill.Fuzz;

/// <summary>
/// <c>Twill.Fuzz seed FIXTURES OUT</c>: the starting corpus of every target, from the Flannel fixtures
/// (FIXTURES = tests/fixtures), FRR's captured BGP messages, and the kernel's own replies to dumps of
/// a namespace holding what an agent programs (needs root; the namespace is deleted after).
/// </summary>
internal static class Seeds
{
    public static int Write(string fixtures, string outDir)
    {
        string flannel = Path.Combine(fixtures, "flannel");
        void Put(string target, string name, byte[] bytes)
        {
            string dir = Path.Combine(outDir, target);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, name), bytes);
        }
        void PutText(string target, string name, string text) => Put(target, name, Encoding.UTF8.GetBytes(text));

        foreach (string f in Directory.EnumerateFiles(flannel, "net-conf.*.json"))
        {
            Put("netconf", Path.GetFileName(f), File.ReadAllBytes(f));
        }
        string[] kv = [.. File.ReadAllLines(Path.Combine(flannel, "etcd-lease.key-value.txt")).Where(l => l.Length > 0 && l[0] != '#')];
        for (int i = 0; i + 1 < kv.Length; i += 2)
        {
            if (kv[i].EndsWith("/config", StringComparison.Ordinal))
            {
                PutText("netconf", "etcd-config.json", kv[i + 1]);
                continue;
            }
            PutText("lease", $"etcd-{i / 2}", kv[i] + "\n" + kv[i + 1]);
            string key = kv[i][(kv[i].LastIndexOf('/') + 1)..];
            Put("lease", $"file-{i / 2}", FileLeaseRecordCodec.Encode(new LeaseRecord(key, kv[i + 1], DateTimeOffset.UnixEpoch.AddDays(20000), i)));
        }
        string subnetEnv = File.ReadAllText(Path.Combine(flannel, "subnet.env"));
        PutText("subnet-env", "linux", subnetEnv);
        PutText("subnet-env", "dualstack", subnetEnv + "FLANNEL_IPV6_NETWORK=2001:db8::/56\nFLANNEL_IPV6_SUBNET=2001:db8:0:3::1/64\n");
        string dlg = File.ReadAllText(Path.Combine(flannel, "cni-delegate.linux.json"));
        PutText("cni-config", "bridge", dlg);
        PutText("cni-config", "flannel", """{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true},"runtimeConfig":{"ips":["10.244.1.9"]}}""");
        PutText("cni-config", "portmap", """{"cniVersion":"1.0.0","name":"cbr0","type":"portmap","capabilities":{"portMappings":true},"snat":true,"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/x"}],"ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1","interface":0}]}}""");
        PutText("cni-config", "host-local", """{"cniVersion":"0.4.0","name":"n","type":"host-local","ipam":{"type":"host-local","subnet":"10.244.1.0/24","rangeStart":"10.244.1.10","rangeEnd":"10.244.1.20","gateway":"10.244.1.1","routes":[{"dst":"0.0.0.0/0"}]},"args":{"cni":{"ips":["10.244.1.11"]}}}""");
        PutText("cni-args", "kubernetes", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc");
        PutText("cni-args", "ip-mac", "IP=10.244.1.7,2001:db8:1::7;MAC=0a:58:0a:f4:01:07");
        List<string> nodes = [];
        foreach (string f in Directory.EnumerateFiles(flannel, "node.*.json"))
        {
            Put("kube-node", Path.GetFileName(f), File.ReadAllBytes(f));
            nodes.Add(File.ReadAllText(f));
        }
        PutText("kube-node", "list", "\u0010{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"\"},\"items\":[" + string.Join(",", nodes) + "]}");

        // FRR 8.4.4's OPEN and UPDATEs (tests/Twill.Bgp.Tests/FrrFixtureTests.cs), then the messages
        // Twill itself sends; the first octet is the target's 4-octet-AS switch.
        byte[] Frame(byte type, string bodyHex)
        {
            byte[] body = Convert.FromHexString(bodyHex);
            byte[] m = new byte[BgpCodec.HeaderLength + body.Length];
            m.AsSpan(0, BgpCodec.MarkerLength).Fill(0xff);
            m[16] = (byte)(m.Length >> 8);
            m[17] = (byte)m.Length;
            m[18] = type;
            body.CopyTo(m, BgpCodec.HeaderLength);
            return m;
        }
        byte[] Four(params byte[][] messages) => [1, .. messages.SelectMany(m => m)];
        Put("bgp", "frr-open", Four(Frame(1, "04fde800b4c63364015402060104000100010206010400020001020280000202020002024600020641040000fde802020600020a45080001010100020101" +
            "0206490402766d0002044002c0780210470e0001018000000000020180000000")));
        Put("bgp", "frr-update4", Four(Frame(2, "0000001c400101005002000602010000fde8400304c633640180040400000000180af4c8")));
        Put("bgp", "frr-update6", Four(Frame(2, "00000047900e002e0002012020010db8000100000000000000000001fe80000000000000a05a1efffea60a9f0040fd00001002440200" +
            "400101005002000602010000fde880040400000000")));
        BgpCodecOptions four = new(FourOctetAs: true);
        Put("bgp", "twill-session", Four(
            BgpCodec.Encode(new OpenMessage { Asn = 64512, HoldTime = 90, BgpIdentifier = System.Net.IPAddress.Parse("192.0.2.11"),
                Capabilities = [new MultiprotocolCapability(BgpFamily.IPv4Unicast), new RouteRefreshCapability(), new FourOctetAsCapability(64512),
                    new GracefulRestartCapability(false, true, 120, [new GracefulRestartFamily(BgpFamily.IPv4Unicast, true)])] }, four),
            BgpCodec.Encode(KeepaliveMessage.Instance, four),
            BgpCodec.Encode(new RouteRefreshMessage(BgpFamily.IPv6Unicast), four),
            BgpCodec.Encode(new NotificationMessage(BgpErrorCode.Cease, 2, []), four)));
        Put("bgp", "update-2octet", [0, .. Frame(2, "0000001c400101005002000602010000fde8400304c633640180040400000000180af4c8")]);

        if (Environment.UserName == "root")
        {
            KernelReplies((name, bytes) => Put("netlink", name, bytes));
        }
        else
        {
            Console.Error.WriteLine("seed: not root, no netlink seeds (they are the kernel's replies in a namespace)");
        }
        return 0;
    }

    private static void KernelReplies(Action<string, byte[]> put)
    {
        using TestNetns ns = new("fuzzseed");
        ns.Ip("link", "add", "eth0", "type", "veth", "peer", "name", "sw0");
        ns.Ip("addr", "add", "192.0.2.1/24", "dev", "eth0");
        ns.Ip("addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad");
        ns.Ip("link", "set", "eth0", "up");
        ns.Ip("link", "set", "sw0", "up");
        ns.Ip("link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "192.0.2.1", "dev", "eth0", "dstport", "8472", "nolearning");
        ns.Ip("link", "set", "flannel.1", "up");
        ns.Ip("link", "add", "cni0", "type", "bridge");
        ns.Ip("addr", "add", "10.244.1.1/24", "dev", "cni0");
        ns.Ip("link", "set", "cni0", "up");
        ns.Ip("neigh", "replace", "10.244.2.0", "lladdr", "0a:00:00:00:02:01", "dev", "flannel.1", "nud", "permanent");
        ns.Exec("bridge", "fdb", "replace", "0a:00:00:00:02:01", "dev", "flannel.1", "dst", "198.51.100.2", "self", "permanent").EnsureSuccess("bridge fdb");
        ns.Ip("route", "replace", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "onlink", "proto", "84");
        ns.Ip("route", "replace", "10.244.3.0/24", "proto", "84", "nexthop", "via", "192.0.2.2", "dev", "eth0", "nexthop", "via", "192.0.2.3", "dev", "eth0");
        ns.Ip("-6", "route", "replace", "2001:db8:2::/64", "via", "2001:db8::2", "dev", "eth0", "proto", "84");
        using NetNs handle = NetNs.Open(ns.Path);
        using RtnlConnection real = RtnlConnection.Open(handle);
        Recorder recorder = new(real.Transport);
        using RtnlConnection rtnl = new(recorder);
        void Capture(string name, Action dump)
        {
            recorder.Datagrams.Clear();
            try
            {
                dump();
            }
            catch (NetlinkException)
            {
            }
            for (int i = 0; i < recorder.Datagrams.Count; i++)
            {
                put($"{name}-{i}", recorder.Datagrams[i]);
            }
        }
        Capture("links", () => rtnl.DumpLinks());
        Capture("addresses", () => rtnl.DumpAddresses());
        Capture("routes4", () => rtnl.DumpRoutes(AddressFamily.InterNetwork));
        Capture("routes6", () => rtnl.DumpRoutes(AddressFamily.InterNetworkV6));
        Capture("neighbours", () => rtnl.DumpNeighbours(AddressFamily.InterNetwork));
        Capture("fdb", () => rtnl.DumpFdb());
        Capture("error", () => rtnl.GetLink("no-such-link"));
    }

    // Passes everything through and keeps a copy of each datagram the kernel sent.
    private sealed class Recorder(INetlinkTransport inner) : INetlinkTransport
    {
        public List<byte[]> Datagrams { get; } = [];

        public void Send(ReadOnlySpan<byte> data) => inner.Send(data);

        public int Receive(Span<byte> buffer)
        {
            int n = inner.Receive(buffer);
            Datagrams.Add(buffer[..n].ToArray());
            return n;
        }

        public void Dispose()
        {
        }
    }
}
