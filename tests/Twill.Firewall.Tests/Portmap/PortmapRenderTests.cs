using Twill.Firewall.Iptables;
using Twill.Firewall.Portmap;
using Twill.Core;

namespace Twill.Firewall.Tests;

public class PortmapRenderTests
{
    // Chain names and rule text below were produced by the reference portmap 1.1.1 plugin on this
    // machine for the same input (network "mynet", container "abc123").
    internal static PortmapTarget Sample(bool snat = true, bool masqAll = false) => new(
        "mynet", "abc123",
        [InterfaceAddress.Parse("10.244.1.5/24"), InterfaceAddress.Parse("fd00:10:244:1::5/64")],
        [new PortMapping(8080, 80, "tcp"), new PortMapping(8053, 53, "udp"), new PortMapping(9090, 90, "tcp", "192.0.2.1")],
        Snat: snat, MasqAll: masqAll);

    [Fact]
    public void ChainNames_ReferenceInputs_MatchReferenceHashes()
    {
        Assert.Equal("CNI-DN-70a29d9dc18bc4d652ea5", ChainNames.PortmapDnat("mynet", "abc123"));
        Assert.Equal("CNI-70a29d9dc18bc4d652ea5d59", ChainNames.Masquerade("mynet", "abc123"));
        Assert.Equal(28, ChainNames.PortmapOldSnat("mynet", "abc123").Length);
        Assert.StartsWith("CNI-SN-70a29d9dc18bc4d652ea5", ChainNames.PortmapOldSnat("mynet", "abc123"), StringComparison.Ordinal);
    }

    [Fact]
    public void DnatChainRules_Ipv4_MatchReferenceText()
    {
        PortmapTarget t = Sample();
        Assert.Equal(
        [
            "-s 10.244.1.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK",
            "-s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK",
            "-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80",
            "-s 10.244.1.0/24 -p udp -m udp --dport 8053 -j CNI-HOSTPORT-SETMARK",
            "-s 127.0.0.1/32 -p udp -m udp --dport 8053 -j CNI-HOSTPORT-SETMARK",
            "-p udp -m udp --dport 8053 -j DNAT --to-destination 10.244.1.5:53",
            "-s 10.244.1.0/24 -d 192.0.2.1/32 -p tcp -m tcp --dport 9090 -j CNI-HOSTPORT-SETMARK",
            "-s 127.0.0.1/32 -d 192.0.2.1/32 -p tcp -m tcp --dport 9090 -j CNI-HOSTPORT-SETMARK",
            "-d 192.0.2.1/32 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 10.244.1.5:90",
        ], PortmapIptablesRules.DnatChainRules(t, t.AddressOf(IpFamily.V4)!.Value));
    }

    [Fact]
    public void DnatChainRules_Ipv6_SkipsLocalhostAndOtherFamilyHostIp()
    {
        PortmapTarget t = Sample();
        Assert.Equal(
        [
            "-s fd00:10:244:1::/64 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK",
            "-p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:10:244:1::5]:80",
            "-s fd00:10:244:1::/64 -p udp -m udp --dport 8053 -j CNI-HOSTPORT-SETMARK",
            "-p udp -m udp --dport 8053 -j DNAT --to-destination [fd00:10:244:1::5]:53",
        ], PortmapIptablesRules.DnatChainRules(t, t.AddressOf(IpFamily.V6)!.Value));
    }

    [Fact]
    public void DnatChainRules_MasqAll_MarksEverySourceWithoutLocalhostRule()
    {
        PortmapTarget t = Sample(masqAll: true) with { Mappings = [new PortMapping(8080, 80, "TCP")] };
        Assert.Equal(
        [
            "-p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK",
            "-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80",
        ], PortmapIptablesRules.DnatChainRules(t, t.AddressOf(IpFamily.V4)!.Value));
    }

    [Fact]
    public void DnatChainRules_NoSnatExternalChain_OnlyDnatOrExternalJump()
    {
        PortmapTarget noSnat = Sample(snat: false) with { Mappings = [new PortMapping(8080, 80, "tcp", "0.0.0.0")] };
        Assert.Equal(["-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80"],
            PortmapIptablesRules.DnatChainRules(noSnat, noSnat.AddressOf(IpFamily.V4)!.Value));
        PortmapTarget ext = Sample() with { Mappings = [new PortMapping(8080, 80, "tcp")], ExternalSetMarkChain = "KUBE-MARK-MASQ" };
        Assert.Equal("-s 10.244.1.0/24 -p tcp -m tcp --dport 8080 -j KUBE-MARK-MASQ",
            PortmapIptablesRules.DnatChainRules(ext, ext.AddressOf(IpFamily.V4)!.Value)[0]);
    }

    [Fact]
    public void DnatEntryRules_GroupsByProtocolSortedAndSplitsAt15Ports()
    {
        PortmapTarget t = Sample();
        Assert.Equal(
        [
            "-p tcp -m comment --comment \"dnat name: \\\"mynet\\\" id: \\\"abc123\\\"\" -m multiport --dports 8080,9090 -j CNI-DN-70a29d9dc18bc4d652ea5",
            "-p udp -m comment --comment \"dnat name: \\\"mynet\\\" id: \\\"abc123\\\"\" -m multiport --dports 8053 -j CNI-DN-70a29d9dc18bc4d652ea5",
        ], PortmapIptablesRules.DnatEntryRules(t, IpFamily.V4));

        PortmapTarget many = t with { Mappings = [.. Enumerable.Range(1, 16).Select(i => new PortMapping(1000 + i, 80, "tcp"))] };
        IReadOnlyList<string> rules = PortmapIptablesRules.DnatEntryRules(many, IpFamily.V4);
        Assert.Equal(2, rules.Count);
        Assert.Contains("--dports 1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011,1012,1013,1014,1015 -j", rules[0], StringComparison.Ordinal);
        Assert.Contains("--dports 1016 -j", rules[1], StringComparison.Ordinal);
    }

    [Fact]
    public void DnatEntryRules_Conditions_AppendedBeforeJump()
    {
        PortmapTarget t = Sample() with { Mappings = [new PortMapping(8080, 80, "tcp")], ConditionsV4 = ["!", "-s", "192.0.2.0/24"] };
        Assert.EndsWith("--dports 8080 ! -s 192.0.2.0/24 -j CNI-DN-70a29d9dc18bc4d652ea5", PortmapIptablesRules.DnatEntryRules(t, IpFamily.V4)[0], StringComparison.Ordinal);
        Assert.DoesNotContain("192.0.2.0", PortmapIptablesRules.DnatEntryRules(t, IpFamily.V6)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void DnatComment_LongName_CutTo255LikeReference()
    {
        string c = PortmapIptablesRules.DnatComment(new string('n', 300), "id");
        Assert.Equal(256, c.Length);
        Assert.EndsWith("...", c, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(13, "0x2000/0x2000")]
    [InlineData(0, "0x1/0x1")]
    [InlineData(31, "0x80000000/0x80000000")]
    public void MarkDef_Bit_FormatsLikeGoHex(int bit, string expected) =>
        Assert.Equal(expected, PortmapIptablesRules.MarkDef(bit));

    [Fact]
    public void PlanAdd_EmptyTable_CreatesEverythingInOneBlock()
    {
        PortmapTarget t = Sample() with { Mappings = [new PortMapping(8080, 80, "tcp")] };
        string script = PortmapIptablesRules.PlanAdd(new SavedTable("nat"), t, t.AddressOf(IpFamily.V4)!.Value).Render();
        Assert.Equal("""
            *nat
            :CNI-HOSTPORT-SETMARK - [0:0]
            :CNI-HOSTPORT-MASQ - [0:0]
            :CNI-HOSTPORT-DNAT - [0:0]
            :CNI-DN-70a29d9dc18bc4d652ea5 - [0:0]
            -A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
            -A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
            -I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
            -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
            -A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
            -A CNI-DN-70a29d9dc18bc4d652ea5 -s 10.244.1.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
            -A CNI-DN-70a29d9dc18bc4d652ea5 -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
            -A CNI-DN-70a29d9dc18bc4d652ea5 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80
            -A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"mynet\" id: \"abc123\"" -m multiport --dports 8080 -j CNI-DN-70a29d9dc18bc4d652ea5
            COMMIT

            """.ReplaceLineEndings("\n"), script);
    }

    [Fact]
    public void PlanAdd_AlreadyApplied_IsEmpty()
    {
        PortmapTarget t = Sample();
        InterfaceAddress v4 = t.AddressOf(IpFamily.V4)!.Value;
        SavedTable after = Apply(new SavedTable("nat"), PortmapIptablesRules.PlanAdd(new SavedTable("nat"), t, v4));
        Assert.True(PortmapIptablesRules.PlanAdd(after, t, v4).IsEmpty);
        Assert.Empty(PortmapIptablesRules.Check(after, t, v4));
    }

    [Fact]
    public void PlanAdd_ChangedMappings_FlushesAndRefillsContainerChain()
    {
        PortmapTarget t = Sample();
        InterfaceAddress v4 = t.AddressOf(IpFamily.V4)!.Value;
        SavedTable after = Apply(new SavedTable("nat"), PortmapIptablesRules.PlanAdd(new SavedTable("nat"), t, v4));
        string script = PortmapIptablesRules.PlanAdd(after, t with { Mappings = [new PortMapping(7070, 70, "tcp")] }, v4).Render();
        Assert.Contains("-F CNI-DN-70a29d9dc18bc4d652ea5\n", script, StringComparison.Ordinal);
        Assert.Contains("-D CNI-HOSTPORT-DNAT -p udp", script, StringComparison.Ordinal);
        Assert.Contains("-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"mynet\\\" id: \\\"abc123\\\"\" -m multiport --dports 7070", script, StringComparison.Ordinal);
        Assert.DoesNotContain(":CNI-", script, StringComparison.Ordinal);
    }

    [Fact]
    public void PlanDelete_RemovesJumpsAndChainOnly()
    {
        PortmapTarget t = Sample();
        InterfaceAddress v4 = t.AddressOf(IpFamily.V4)!.Value;
        SavedTable after = Apply(new SavedTable("nat"), PortmapIptablesRules.PlanAdd(new SavedTable("nat"), t, v4));
        string script = PortmapIptablesRules.PlanDelete(after, "mynet", "abc123").Render();
        Assert.Equal("""
            *nat
            -D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"mynet\" id: \"abc123\"" -m multiport --dports 8080,9090 -j CNI-DN-70a29d9dc18bc4d652ea5
            -D CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \"mynet\" id: \"abc123\"" -m multiport --dports 8053 -j CNI-DN-70a29d9dc18bc4d652ea5
            -F CNI-DN-70a29d9dc18bc4d652ea5
            -X CNI-DN-70a29d9dc18bc4d652ea5
            COMMIT

            """.ReplaceLineEndings("\n"), script);
        Assert.True(PortmapIptablesRules.PlanDelete(new SavedTable("nat"), "mynet", "abc123").IsEmpty);
    }

    [Fact]
    public void FastAddScript_Snat_ChecksSharedRulesCreatesChainNeverDeclares()
    {
        PortmapTarget t = Sample() with { Mappings = [new PortMapping(8080, 80, "tcp")] };
        string script = PortmapIptablesRules.FastAddScript(t, t.AddressOf(IpFamily.V4)!.Value);
        Assert.Equal("""
            *nat
            -C CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
            -C CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
            -C POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
            -C PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
            -C OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
            -N CNI-DN-70a29d9dc18bc4d652ea5
            -A CNI-DN-70a29d9dc18bc4d652ea5 -s 10.244.1.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
            -A CNI-DN-70a29d9dc18bc4d652ea5 -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
            -A CNI-DN-70a29d9dc18bc4d652ea5 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80
            -A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"mynet\" id: \"abc123\"" -m multiport --dports 8080 -j CNI-DN-70a29d9dc18bc4d652ea5
            COMMIT

            """.ReplaceLineEndings("\n"), script);
        // A declaration (":CHAIN - [0:0]") would flush an existing shared chain under --noflush.
        Assert.DoesNotContain("\n:", script, StringComparison.Ordinal);
    }

    [Fact]
    public void FastAddScript_NoSnat_OnlyDnatEntryChecks()
    {
        PortmapTarget t = Sample(snat: false);
        string script = PortmapIptablesRules.FastAddScript(t, t.AddressOf(IpFamily.V6)!.Value);
        Assert.DoesNotContain("SETMARK", script, StringComparison.Ordinal);
        Assert.DoesNotContain("MASQ", script, StringComparison.Ordinal);
        Assert.Contains("-C PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n", script, StringComparison.Ordinal);
        Assert.Contains("-A CNI-DN-70a29d9dc18bc4d652ea5 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:10:244:1::5]:80\n", script, StringComparison.Ordinal);
    }

    [Fact]
    public void FastAddScript_AppliedToPlanAddOutput_SameTableAsPlanAdd()
    {
        // The fast script, applied where its checks hold, leaves exactly what PlanAdd would.
        PortmapTarget first = Sample() with { ContainerId = "first" };
        PortmapTarget t = Sample();
        InterfaceAddress v4 = t.AddressOf(IpFamily.V4)!.Value;
        SavedTable shared = Apply(new SavedTable("nat"), PortmapIptablesRules.PlanAdd(new SavedTable("nat"), first, v4));
        SavedTable viaPlan = Apply(shared, PortmapIptablesRules.PlanAdd(shared, t, v4));
        SavedTable viaFast = ApplyFast(shared, PortmapIptablesRules.FastAddScript(t, v4));
        Assert.Equal(viaPlan.Normalized(), viaFast.Normalized());
    }

    [Fact]
    public void FastDeleteScript_KnownEntries_DeletesEntriesThenChainAndProvesOldChainAbsent()
    {
        PortmapTarget t = Sample();
        string? script = PortmapIptablesRules.FastDeleteScript("mynet", "abc123", PortmapIptablesRules.DnatEntryRules(t, IpFamily.V4));
        Assert.Equal("""
            *nat
            -D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"mynet\" id: \"abc123\"" -m multiport --dports 8080,9090 -j CNI-DN-70a29d9dc18bc4d652ea5
            -D CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \"mynet\" id: \"abc123\"" -m multiport --dports 8053 -j CNI-DN-70a29d9dc18bc4d652ea5
            -F CNI-DN-70a29d9dc18bc4d652ea5
            -X CNI-DN-70a29d9dc18bc4d652ea5
            -N CNI-SN-70a29d9dc18bc4d652ea5
            -X CNI-SN-70a29d9dc18bc4d652ea5
            COMMIT

            """.ReplaceLineEndings("\n"), script);
    }

    [Fact]
    public void FastDeleteScript_NoEntries_NoFastPath() =>
        Assert.Null(PortmapIptablesRules.FastDeleteScript("mynet", "abc123", []));

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(111)]
    [InlineData(112)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(129)]
    [InlineData(300)]
    public void Sha512_AnyLength_MatchesSystemImplementation(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        Assert.Equal(System.Security.Cryptography.SHA512.HashData(data), Sha512.HashData(data));
    }

    [Fact]
    public void Check_MissingRule_NamesIt()
    {
        PortmapTarget t = Sample();
        InterfaceAddress v4 = t.AddressOf(IpFamily.V4)!.Value;
        Assert.Contains("chain CNI-DN-70a29d9dc18bc4d652ea5 not found", PortmapIptablesRules.Check(new SavedTable("nat"), t, v4)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BadFields_ReportsEveryOneByName()
    {
        PortmapTarget t = Sample() with
        {
            MarkMasqBit = 40,
            ExternalSetMarkChain = "X",
            Mappings = [new PortMapping(0, 70000, "icmp", "nope")],
        };
        IReadOnlyList<string> errors = t.Validate();
        Assert.Contains(errors, e => e.Contains("markMasqBit: 40", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Cannot specify externalSetMarkChain and markMasqBit", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("portMappings[0].hostPort", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("portMappings[0].containerPort", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("portMappings[0].protocol: icmp", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("portMappings[0].hostIP: nope", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => Portmap.Portmap.Add(t, new ThrowingRunner()));
    }

    /// <summary>Plays a rendered edit onto a table the way the kernel would, to chain plans in unit tests.</summary>
    /// <summary>Applies a fast ADD script the way iptables-restore would, failing the test where the restore would fail.</summary>
    private static SavedTable ApplyFast(SavedTable before, string script)
    {
        TableEdit edit = new(before);
        foreach (string line in script.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '*' || line == "COMMIT")
            {
                continue;
            }
            string[] p = line.Split(' ', 3);
            switch (p[0])
            {
                case "-C":
                    Assert.Contains(p[2], edit.Rules(p[1]));
                    break;
                case "-N":
                    Assert.False(edit.HasChain(p[1]), $"{p[1]} exists: -N would fail");
                    edit.EnsureChain(p[1]);
                    break;
                case "-A":
                    edit.Append(p[1], p[2]);
                    break;
                default:
                    Assert.Fail($"unexpected line {line}");
                    break;
            }
        }
        return Apply(before, edit);
    }

    internal static SavedTable Apply(SavedTable before, TableEdit edit)
    {
        // The edit already tracks the resulting state; render that state as a dump and re-parse it.
        System.Text.StringBuilder sb = new();
        sb.Append("*nat\n");
        HashSet<string> chains = [.. before.Chains];
        foreach (string line in edit.Render().Split('\n'))
        {
            if (line.StartsWith(':'))
            {
                chains.Add(line[1..line.IndexOf(' ', StringComparison.Ordinal)]);
            }
        }
        foreach (string c in chains)
        {
            if (edit.HasChain(c))
            {
                sb.Append(':').Append(c).Append(" - [0:0]\n");
            }
        }
        foreach (string c in chains.Concat(["PREROUTING", "OUTPUT", "POSTROUTING", "INPUT"]).Distinct())
        {
            foreach (string r in edit.Rules(c))
            {
                sb.Append("-A ").Append(c).Append(' ').Append(r).Append('\n');
            }
        }
        sb.Append("COMMIT\n");
        return SavedRuleset.Parse(sb.ToString()).Table("nat");
    }
}

internal sealed class ThrowingRunner : IFirewallRunner
{
    public ToolOutput Run(string tool, IReadOnlyList<string> args, string? stdin = null) =>
        throw new InvalidOperationException("no tool may run");

    public IDisposable Lock() => throw new InvalidOperationException("no lock may be taken");
}
