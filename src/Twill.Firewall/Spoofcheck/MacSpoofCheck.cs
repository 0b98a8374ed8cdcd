using System.Globalization;
using System.Net.NetworkInformation;
using System.Text;
using System.Text.Json;
using Twill.Firewall.Nftables;
using Twill.Core;

namespace Twill.Firewall.Spoofcheck;

/// <summary>
/// The bridge plugin's <c>macspoofchk</c>, laid out as the reference (containernetworking/plugins
/// <c>pkg/link/spoofcheck.go</c>) lays it out, so either implementation removes the other's rules:
/// table <c>bridge nat</c>; base chain <c>PREROUTING</c> (filter, prerouting hook, priority -300,
/// policy accept) with one rule per pod, <c>iifname "&lt;host veth&gt;" jump cni-br-iface-&lt;id&gt;</c>;
/// that chain jumps to <c>cni-br-iface-&lt;id&gt;-mac</c>, which returns frames whose source MAC is
/// the pod's and drops the rest. <c>&lt;id&gt;</c> is <c>containerID-ifname</c>, and every rule carries
/// the comment <c>macspoofchk-&lt;id&gt;</c>, which is how DEL finds the base chain's rule.
/// The table and the base chain are shared by all pods and stay, as the reference leaves them.
/// </summary>
public static class MacSpoofCheck
{
    public const string Family = "bridge";
    public const string Table = "nat";
    public const string BaseChain = "PREROUTING";

    /// <summary>The reference's priority for the base chain (bridge "dstnat").</summary>
    public const int BasePriority = -300;

    private const string TableRef = Family + " " + Table;

    /// <summary>How many times a teardown re-reads the table when a concurrent change made its delete fail.</summary>
    private const int TeardownAttempts = 3;

    /// <summary>The reference's per-attachment id: <c>containerID + "-" + ifname</c> (not hashed).</summary>
    public static string RefId(string containerId, string ifName) => containerId + "-" + ifName;

    /// <summary>The per-attachment chain the base chain jumps to.</summary>
    public static string InterfaceChain(string containerId, string ifName) => "cni-br-iface-" + RefId(containerId, ifName);

    /// <summary>The chain holding the MAC match and the drop.</summary>
    public static string MacChain(string containerId, string ifName) => InterfaceChain(containerId, ifName) + "-mac";

    public static string Comment(string containerId, string ifName) => "macspoofchk-" + RefId(containerId, ifName);

    /// <summary>
    /// The ADD script: declares table and chains (no-ops when present), empties the pod's two
    /// chains and fills them, and appends the base chain's jump — one transaction, all or nothing.
    /// Like the reference, a repeated ADD appends another jump (DEL removes them all).
    /// </summary>
    /// <exception cref="ArgumentException">A name nft's script syntax cannot carry, naming it.</exception>
    public static string RenderSetup(string hostInterface, PhysicalAddress containerMac, string containerId, string ifName)
    {
        string iface = InterfaceChain(containerId, ifName);
        string mac = MacChain(containerId, ifName);
        RequireIdentifier(mac, "chain name (container id + ifname)");
        RequireQuotable(hostInterface, "host interface");
        string comment = " comment " + NftTool.Quote(Comment(containerId, ifName));
        StringBuilder sb = new();
        sb.Append($"add table {TableRef}\n");
        sb.Append($"add chain {TableRef} {BaseChain} {{ type filter hook prerouting priority {BasePriority}; policy accept; }}\n");
        sb.Append($"add chain {TableRef} {iface}\n");
        sb.Append($"add chain {TableRef} {mac}\n");
        sb.Append($"flush chain {TableRef} {iface}\n");
        sb.Append($"flush chain {TableRef} {mac}\n");
        sb.Append($"add rule {TableRef} {BaseChain} iifname {NftTool.Quote(hostInterface)} jump {iface}{comment}\n");
        sb.Append($"add rule {TableRef} {iface} jump {mac}{comment}\n");
        sb.Append($"add rule {TableRef} {mac} ether saddr {FormatMac(containerMac)} return{comment}\n");
        sb.Append($"add rule {TableRef} {mac} drop{comment}\n");
        return sb.ToString();
    }

    /// <summary>
    /// The DEL script for what <c>nft -j list table bridge nat</c> shows: the base chain's rules
    /// carrying the attachment's comment, then its two chains (the one that jumps first), all by
    /// handle so no name has to be spelled in nft syntax. Empty when nothing of the attachment is
    /// there. Other pods' rules and the shared table and base chain are left alone.
    /// </summary>
    public static string PlanTeardown(string tableJson, string containerId, string ifName)
    {
        string comment = Comment(containerId, ifName);
        string ifaceName = InterfaceChain(containerId, ifName);
        string macName = MacChain(containerId, ifName);
        List<long> rules = [];
        long? iface = null, mac = null;
        using JsonDocument doc = JsonDocument.Parse(tableJson);
        if (doc.RootElement.TryGetProperty("nftables", out JsonElement items))
        {
            foreach (JsonElement item in items.EnumerateArray())
            {
                if (item.TryGetProperty("rule", out JsonElement rule))
                {
                    if (Is(rule, Family, Table) && rule.GetProperty("chain").GetString() == BaseChain
                        && rule.TryGetProperty("comment", out JsonElement c) && c.GetString() == comment)
                    {
                        rules.Add(rule.GetProperty("handle").GetInt64());
                    }
                }
                else if (item.TryGetProperty("chain", out JsonElement chain) && Is(chain, Family, Table))
                {
                    string? name = chain.GetProperty("name").GetString();
                    if (name == ifaceName)
                    {
                        iface = chain.GetProperty("handle").GetInt64();
                    }
                    else if (name == macName)
                    {
                        mac = chain.GetProperty("handle").GetInt64();
                    }
                }
            }
        }
        StringBuilder sb = new();
        foreach (long h in rules)
        {
            sb.Append(CultureInfo.InvariantCulture, $"delete rule {TableRef} {BaseChain} handle {h}\n");
        }
        // The interface chain jumps to the MAC chain: it goes first (one transaction either way).
        foreach (long? h in new[] { iface, mac })
        {
            if (h is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $"delete chain {TableRef} handle {h}\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>Installs the rules (bridge ADD with macspoofchk): one <c>nft -f -</c>.</summary>
    public static void Setup(string hostInterface, PhysicalAddress containerMac, string containerId, string ifName, IFirewallRunner runner) =>
        NftTool.Apply(runner, RenderSetup(hostInterface, containerMac, containerId, ifName));

    /// <summary>
    /// Removes the attachment's rules and chains (bridge DEL), whichever implementation made them;
    /// succeeds when nothing is there (repeated DEL, DEL after a crash, never added). One listing
    /// and at most one transaction; re-read when a concurrent DEL removed something first.
    /// </summary>
    public static void Teardown(string containerId, string ifName, IFirewallRunner runner)
    {
        for (int attempt = 1; ; attempt++)
        {
            string? listing = ListTable(runner);
            string script = listing is null ? "" : PlanTeardown(listing, containerId, ifName);
            if (script.Length == 0)
            {
                return;
            }
            try
            {
                NftTool.Apply(runner, script);
                return;
            }
            catch (FirewallException e) when (attempt < TeardownAttempts && e.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
            {
                // a handle vanished between the listing and the delete: look again
            }
        }
    }

    /// <summary>The table as JSON, or null when it does not exist.</summary>
    private static string? ListTable(IFirewallRunner runner)
    {
        ToolOutput r = runner.Run("nft", ["-j", "list", "table", Family, Table]);
        if (r.ExitCode == 0)
        {
            return r.Stdout;
        }
        if (r.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
        {
            return null;
        }
        throw new FirewallException("nft", r.ExitCode, r.Stderr, null);
    }

    /// <summary>Go's <c>net.HardwareAddr.String()</c>: lower-case hex pairs joined by colons.</summary>
    public static string FormatMac(PhysicalAddress mac)
    {
        byte[] b = mac.GetAddressBytes();
        if (b.Length != 6)
        {
            throw new ArgumentException($"container MAC {Convert.ToHexString(b)} is not a 6-byte Ethernet address", nameof(mac));
        }
        return mac.ToColonString();
    }

    private static bool Is(JsonElement e, string family, string table) =>
        e.GetProperty("family").GetString() == family && e.GetProperty("table").GetString() == table;

    /// <summary>
    /// nft 1.0.6 scripts take chain names only as bare words (letters, digits, <c>_ . / -</c>).
    /// Container ids allowed by the CNI spec always fit; an interface name with other characters
    /// is refused rather than half-applied.
    /// </summary>
    private static void RequireIdentifier(string name, string what)
    {
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '/' or '-'))
            {
                throw new ArgumentException($"{what} \"{name}\": character '{c}' cannot be used in an nftables chain name (allowed: letters, digits, _ . / -)");
            }
        }
    }

    /// <summary>nft 1.0.6 has no escape for a double quote inside a quoted string.</summary>
    private static void RequireQuotable(string s, string what)
    {
        if (s.Length == 0 || s.Any(c => c is '"' or '\\' || char.IsControl(c)))
        {
            throw new ArgumentException($"{what} \"{s}\" cannot be written as an nftables string");
        }
    }
}
