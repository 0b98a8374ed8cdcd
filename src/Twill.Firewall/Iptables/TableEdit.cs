using System.Text;

namespace Twill.Firewall.Iptables;

/// <summary>
/// A change to one table, written as an <c>iptables-restore --noflush</c> block and computed
/// against the table's current dump, so that every line is valid when applied: chains are declared
/// only when missing, rules are added only when absent and deleted only when present. The edit
/// tracks its own effects, so later steps see the chains and rules earlier steps created.
/// </summary>
public sealed class TableEdit
{
    private readonly HashSet<string> _chains;
    private readonly Dictionary<string, List<string>> _rules = new(StringComparer.Ordinal);
    private readonly List<string> _declarations = [];
    private readonly List<string> _commands = [];

    public TableEdit(SavedTable current)
    {
        Table = current.Name;
        _chains = new HashSet<string>(current.Chains, StringComparer.Ordinal);
        foreach (string c in current.Chains)
        {
            _rules[c] = [.. current.Rules(c)];
        }
    }

    public string Table { get; }

    /// <summary>Nothing to change: the table already is as wanted.</summary>
    public bool IsEmpty => _declarations.Count == 0 && _commands.Count == 0;

    public bool HasChain(string chain) => _chains.Contains(chain);

    /// <summary>The chain's rules as they will be after this edit.</summary>
    public IReadOnlyList<string> Rules(string chain) => _rules.TryGetValue(chain, out List<string>? r) ? r : [];

    /// <summary>Creates a user chain when missing (a declaration of an existing chain would flush it).</summary>
    public void EnsureChain(string chain)
    {
        if (_chains.Add(chain))
        {
            _declarations.Add($":{chain} - [0:0]");
            _rules[chain] = [];
        }
    }

    /// <summary>Appends the rule unless the chain already has it (the reference's InsertUnique, append mode).</summary>
    public void AppendUnique(string chain, string spec)
    {
        if (!Rules(chain).Contains(spec))
        {
            Append(chain, spec);
        }
    }

    /// <summary>Inserts the rule first in the chain unless the chain already has it.</summary>
    public void InsertUnique(string chain, string spec)
    {
        if (!Rules(chain).Contains(spec))
        {
            _commands.Add($"-I {chain} 1 {spec}");
            RulesOf(chain).Insert(0, spec);
        }
    }

    public void Append(string chain, string spec)
    {
        _commands.Add($"-A {chain} {spec}");
        RulesOf(chain).Add(spec);
    }

    /// <summary>
    /// Makes the chain hold exactly <paramref name="specs"/>: created if missing, otherwise left
    /// alone when already equal, else flushed and refilled inside the same commit (no window).
    /// </summary>
    /// <param name="force">Rewrite even when equal (a periodic refresh that must not trust the dump).</param>
    public void ReplaceChain(string chain, IReadOnlyList<string> specs, bool force = false)
    {
        if (HasChain(chain))
        {
            if (!force && Rules(chain).SequenceEqual(specs, StringComparer.Ordinal))
            {
                return;
            }
            _commands.Add($"-F {chain}");
            RulesOf(chain).Clear();
        }
        else
        {
            EnsureChain(chain);
        }
        foreach (string s in specs)
        {
            Append(chain, s);
        }
    }

    /// <summary>Deletes every copy of the rule that the chain holds; nothing when absent.</summary>
    public void DeleteRule(string chain, string spec)
    {
        List<string> rules = RulesOf(chain);
        while (rules.Remove(spec))
        {
            _commands.Add($"-D {chain} {spec}");
        }
    }

    /// <summary>Deletes, from every chain, the rules that jump to <paramref name="target"/>.</summary>
    public void DeleteJumpsTo(string target, Func<string, string, bool>? filter = null)
    {
        foreach (string chain in _chains.ToList())
        {
            foreach (string spec in RulesOf(chain).Where(s => IptablesText.JumpsTo(s, target)).ToList())
            {
                if (filter is null || filter(chain, spec))
                {
                    DeleteRule(chain, spec);
                }
            }
        }
    }

    /// <summary>Removes jumps to the chain, then flushes and deletes it; nothing when it does not exist.</summary>
    public void DeleteChain(string chain)
    {
        if (!HasChain(chain))
        {
            return;
        }
        DeleteJumpsTo(chain);
        _commands.Add($"-F {chain}");
        _commands.Add($"-X {chain}");
        _chains.Remove(chain);
        _rules.Remove(chain);
    }

    /// <summary>The <c>*table ... COMMIT</c> block; empty when there is nothing to do.</summary>
    public string Render()
    {
        if (IsEmpty)
        {
            return "";
        }
        StringBuilder sb = new();
        sb.Append('*').Append(Table).Append('\n');
        foreach (string d in _declarations)
        {
            sb.Append(d).Append('\n');
        }
        foreach (string c in _commands)
        {
            sb.Append(c).Append('\n');
        }
        sb.Append("COMMIT\n");
        return sb.ToString();
    }

    private List<string> RulesOf(string chain)
    {
        if (!_rules.TryGetValue(chain, out List<string>? r))
        {
            r = [];
            _rules[chain] = r;
        }
        return r;
    }
}
