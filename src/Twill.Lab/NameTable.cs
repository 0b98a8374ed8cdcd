namespace Twill.Lab;

/// <summary>
/// A closed set of values and the names the command line and net-conf give them, each pair written
/// once so that formatting and parsing cannot drift apart. The first pair is the default: the name
/// of a value not listed, and what <see cref="Parse"/> makes of a name not known.
/// </summary>
internal sealed class NameTable<T>(params (T Value, string Name)[] pairs)
    where T : struct, Enum
{
    public string Format(T value)
    {
        foreach ((T v, string name) in pairs)
        {
            if (EqualityComparer<T>.Default.Equals(v, value))
            {
                return name;
            }
        }
        return pairs[0].Name;
    }

    /// <summary>The value named <paramref name="name"/> (ordinal), or null.</summary>
    public T? Find(string? name)
    {
        foreach ((T v, string n) in pairs)
        {
            if (n == name)
            {
                return v;
            }
        }
        return null;
    }

    public T Parse(string? name) => Find(name) ?? pairs[0].Value;
}
