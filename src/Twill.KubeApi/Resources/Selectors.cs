using System.Text.Json.Nodes;

namespace Twill.KubeApi.Resources;

/// <summary>
/// A label selector in the syntax of k8s.io/apimachinery/pkg/labels: comma-separated requirements
/// <c>k=v</c>, <c>k==v</c>, <c>k!=v</c>, <c>k in (a,b)</c>, <c>k notin (a)</c>, <c>k</c>, <c>!k</c>, all of which must hold.
/// </summary>
internal sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _requirements;

    private LabelSelector(List<Func<IReadOnlyDictionary<string, string>, bool>> requirements) => _requirements = requirements;

    public static readonly LabelSelector Everything = new([]);

    public bool IsEverything => _requirements.Count == 0;

    public bool Matches(JsonObject obj)
    {
        if (_requirements.Count == 0)
        {
            return true;
        }
        IReadOnlyDictionary<string, string> labels = Meta.Labels(obj);
        return _requirements.All(r => r(labels));
    }

    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }
        List<Func<IReadOnlyDictionary<string, string>, bool>> reqs = [];
        foreach (string part in SplitTopLevel(text))
        {
            string p = part.Trim();
            if (p.Length == 0)
            {
                throw Bad(text, "found ',', expected: !, identifier, or 'end of string'");
            }
            int setOp = IndexOfWord(p, " notin ") is int ni and >= 0 ? ni : IndexOfWord(p, " in ");
            if (setOp >= 0)
            {
                bool notIn = p.AsSpan(setOp).TrimStart().StartsWith("notin", StringComparison.Ordinal);
                string key = Key(p[..setOp].Trim(), text);
                string rest = p[(setOp + (notIn ? 7 : 4))..].Trim();
                if (!rest.StartsWith('(') || !rest.EndsWith(')'))
                {
                    throw Bad(text, "found '" + rest + "', expected: '('");
                }
                HashSet<string> values = [.. rest[1..^1].Split(',').Select(v => Value(v.Trim(), text))];
                reqs.Add(notIn ? l => !l.TryGetValue(key, out string? v) || !values.Contains(v) : l => l.TryGetValue(key, out string? v) && values.Contains(v));
            }
            else if (p.Contains("!=", StringComparison.Ordinal))
            {
                int i = p.IndexOf("!=", StringComparison.Ordinal);
                string key = Key(p[..i].Trim(), text);
                string value = Value(p[(i + 2)..].Trim(), text);
                reqs.Add(l => !l.TryGetValue(key, out string? v) || v != value);
            }
            else if (p.Contains('='))
            {
                int i = p.IndexOf('=');
                int skip = p.AsSpan(i).StartsWith("==") ? 2 : 1;
                string key = Key(p[..i].Trim(), text);
                string value = Value(p[(i + skip)..].Trim(), text);
                reqs.Add(l => l.TryGetValue(key, out string? v) && v == value);
            }
            else if (p.StartsWith('!'))
            {
                string key = Key(p[1..].Trim(), text);
                reqs.Add(l => !l.ContainsKey(key));
            }
            else
            {
                string key = Key(p, text);
                reqs.Add(l => l.ContainsKey(key));
            }
        }
        return new LabelSelector(reqs);
    }

    private static int IndexOfWord(string s, string word) => s.IndexOf(word, StringComparison.Ordinal);

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '(')
            {
                depth++;
            }
            else if (text[i] == ')')
            {
                depth--;
            }
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }

    private static string Key(string key, string text)
    {
        if (key.Length == 0 || key.Length > 316 || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/')))
        {
            throw Bad(text, $"invalid label key \"{key}\"");
        }
        return key;
    }

    private static string Value(string value, string text)
    {
        if (value.Length > 63 || value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            throw Bad(text, $"invalid label value: \"{value}\"");
        }
        return value;
    }

    private static ApiError Bad(string text, string why) => ApiError.BadRequest($"unable to parse requirement: {why} (selector \"{text}\")");
}

/// <summary>A field selector: <c>f=v</c>, <c>f==v</c>, <c>f!=v</c> on the fields the resource makes selectable.</summary>
internal sealed class FieldSelector
{
    private readonly List<(string Field, string Value, bool Equal)> _terms;

    private FieldSelector(List<(string, string, bool)> terms) => _terms = terms;

    public static readonly FieldSelector Everything = new([]);

    public bool IsEverything => _terms.Count == 0;

    public bool Matches(JsonObject obj) => _terms.All(t => (Meta.FieldValue(obj, t.Field) == t.Value) == t.Equal);

    public static FieldSelector Parse(string? text, ResourceKind kind)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }
        List<(string, string, bool)> terms = [];
        foreach (string raw in text.Split(','))
        {
            string p = raw.Trim();
            int i = p.IndexOf('=');
            if (i <= 0)
            {
                throw ApiError.BadRequest($"invalid selector: '{text}'; can't understand '{p}'");
            }
            bool not = p[i - 1] == '!';
            string field = p[..(not ? i - 1 : i)].Trim();
            string value = p[(i + (p.AsSpan(i).StartsWith("==") ? 2 : 1))..].Trim();
            bool known = field == "metadata.name" || (kind.Namespaced && field == "metadata.namespace") || kind.SelectableFields.Contains(field);
            if (!known)
            {
                throw ApiError.BadRequest($"\"{field}\" is not a known field selector: only \"metadata.name\"{(kind.Namespaced ? ", \"metadata.namespace\"" : "")}{string.Concat(kind.SelectableFields.Select(f => $", \"{f}\""))}");
            }
            terms.Add((field, value, !not));
        }
        return new FieldSelector(terms);
    }
}
