using Twill.Os;

namespace Twill.Os.Tests.Processes;

public class NsenterTests
{
    [Fact]
    public void Net_Path_NsenterArgvEndingInTheCommandVerbatim()
    {
        Assert.Equal(["nsenter", "--net=/proc/1/ns/net", "--", "ip", "-j", "a b"], Nsenter.Net("/proc/1/ns/net", ["ip", "-j", "a b"]));
    }

    [Fact]
    public void NetNamed_Name_PathUnderVarRunNetns()
    {
        Assert.Equal(["nsenter", "--net=/var/run/netns/pod1", "--", "true"], Nsenter.NetNamed("pod1", ["true"]));
    }
}
