namespace Twill.Lab.Tests;

public class LabCheckerTests
{
    private static LabState State(int nodes, int podsPerNode)
    {
        LabState s = new() { Name = "lab" };
        for (int n = 1; n <= nodes; n++)
        {
            s.Nodes.Add(new LabNodeState { Name = $"node{n}", Namespace = $"twl-lab-node{n}", Address = $"192.0.2.{10 + n}" });
            for (int p = 1; p <= podsPerNode; p++)
            {
                s.Pods.Add(new LabPodState
                {
                    Name = $"n{n}p{p}", Namespace = $"twl-lab-n{n}p{p}", Node = $"node{n}",
                    Address = $"10.244.{n}.{1 + p}", ContainerPort = 8080, HostPort = 30080 + p,
                });
            }
        }
        return s;
    }

    [Fact]
    public void Plan_ThreeNodesTwoPods_EveryOrderedPairOnceAndOneHostPortPerPod()
    {
        List<CheckProbe> probes = LabChecker.Plan(State(3, 2));

        Assert.Equal(30, probes.Count(p => p.Kind == CheckKind.PodToPod));
        Assert.Equal(6, probes.Count(p => p.Kind == CheckKind.HostPort));
        Assert.Equal(6, probes.Count(p => p.Kind == CheckKind.PodToNode));
        Assert.DoesNotContain(probes, p => p.Kind == CheckKind.PodToPod && p.From == "twl-lab-" + p.To);
    }

    [Fact]
    public void Plan_HostPort_ProbedFromAnotherNodeToThePodsNode()
    {
        List<CheckProbe> probes = LabChecker.Plan(State(3, 1));

        CheckProbe hp = Assert.Single(probes, p => p.Kind == CheckKind.HostPort && p.To == "n3p1");
        Assert.Equal("twl-lab-node1", hp.From);
        Assert.Equal("192.0.2.13", hp.Address.ToString());
        Assert.Equal(30081, hp.Port);
        Assert.Equal("twill-lab n3p1\n", hp.ExpectBanner);
        CheckProbe foreign = Assert.Single(probes, p => p.Kind == CheckKind.PodToNode && p.From == "twl-lab-n3p1");
        Assert.Equal("node1", foreign.To);
    }

    [Fact]
    public void Verdict_WrongPodAnswers_CountsAsFailure()
    {
        CheckProbe p = new(CheckKind.HostPort, "a", "n1p1", System.Net.IPAddress.Loopback, 1, "twill-lab n1p1\n")
        {
            Tcp = new ProbeResult(true, TimeSpan.FromMilliseconds(1), "twill-lab n1p2\n"),
        };
        CheckReport r = new(["n1p1"], [p], TimeSpan.Zero);

        Assert.False(r.Ok);
        Assert.Contains("wrong pod", p.Failure, StringComparison.Ordinal);
        Assert.Equal("0/0 pod pairs reachable, 0/1 hostPorts, 0/0 pods reach a foreign node", r.Verdict);
    }

    [Fact]
    public void Checksum_EchoRequest_VerifiesToZero()
    {
        byte[] packet = NamespaceSockets.EchoRequest(0x1234, 1);

        Assert.Equal(0, NamespaceSockets.Checksum(packet));
    }
}
