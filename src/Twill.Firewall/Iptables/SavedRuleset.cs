using System.Text;

namespace Twill.Firewall.Iptables;

/// <summary>One table of an <c>iptables-save</c> dump: its chains in order and each chain's rules as saved.</summary>
public sealed class SavedTable
{
    private readonly List<string> _chains = [];
    private readonly Dictionary<string, List<string>> _rules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _policies = new(StringComparer.Ordinal);

    public SavedTable(string name) => Name = name;

    public string Name { get; }

    /// <summary>Chains in the order the dump declared them.</summary>
    public IReadOnlyList<string> Chains => _chains;

    public bool HasChain(string chain) => _rules.ContainsKey(chain);

    /// <summary>
    /// The chain's rules, each the text after <c>-A CHAIN </c> exactly as iptables-save printed it
    /// (so it can be fed back to <c>-D CHAIN</c>); empty when the chain does not exist.
    /// </summary>
    public IReadOnlyList<string> Rules(string chain) => _rules.TryGetValue(chain, out List<string>? r) ? r : [];

    /// <summary>The policy of a built-in chain (<c>ACCEPT</c>...), <c>-</c> for a user chain.</summary>
    public string Policy(string chain) => _policies.TryGetValue(chain, out string? p) ? p : "-";

    internal void AddChain(string chain, string policy)
    {
        if (!_rules.ContainsKey(chain))
        {
            _chains.Add(chain);
            _rules[chain] = [];
        }
        _policies[chain] = policy;
    }

    internal void AddRule(string chain, string spec)
    {
        AddChain(chain, Policy(chain));
        _rules[chain].Add(spec);
    }

    /// <summary>
    /// The table as text without counters or timestamps, chains sorted by name, so two dumps of
    /// the same rules compare equal whatever order the chains were created in.
    /// </summary>
    public string Normalized()
    {
        StringBuilder sb = new();
        sb.Append('*').Append(Name).Append('\n');
        foreach (string c in _chains.Order(StringComparer.Ordinal))
        {
            sb.Append(':').Append(c).Append(' ').Append(Policy(c)).Append('\n');
        }
        foreach (string c in _chains.Order(StringComparer.Ordinal))
        {
            foreach (string r in _rules[c])
            {
                sb.Append("-A ").Append(c).Append(' ').Append(r).Append('\n');
            }
        }
        return sb.ToString();
    }
}

/// <summary>A parsed <c>iptables-save</c> / <c>ip6tables-save</c> dump.</summary>
public sealed class SavedRuleset
{
    private readonly Dictionary<string, SavedTable> _tables = new(StringComparer.Ordinal);

    public IReadOnlyCollection<SavedTable> Tables => _tables.Values;

    /// <summary>The named table; an empty one when the dump did not contain it (nothing created yet).</summary>
    public SavedTable Table(string name) => _tables.TryGetValue(name, out SavedTable? t) ? t : new SavedTable(name);

    public static SavedRuleset Parse(string text)
    {
        SavedRuleset set = new();
        SavedTable? current = null;
        int n = 0;
        foreach (string raw in text.Split('\n'))
        {
            n++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            if (line[0] == '*')
            {
                current = new SavedTable(line[1..]);
                set._tables[current.Name] = current;
                continue;
            }
            if (line == "COMMIT")
            {
                current = null;
                continue;
            }
            if (current is null)
            {
                throw new FormatException($"iptables-save line {n} outside a table: {line}");
            }
            if (line[0] == ':')
            {
                // ":CHAIN POLICY [packets:bytes]"
                string[] parts = line[1..].Split(' ');
                current.AddChain(parts[0], parts.Length > 1 ? parts[1] : "-");
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                int sp = line.IndexOf(' ', 3);
                if (sp < 0)
                {
                    throw new FormatException($"iptables-save line {n} has no rule: {line}");
                }
                current.AddRule(line[3..sp], line[(sp + 1)..]);
            }
            else
            {
                throw new FormatException($"iptables-save line {n} not understood: {line}");
            }
        }
        return set;
    }
}
