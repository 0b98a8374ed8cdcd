using System.Globalization;
using System.Text;

namespace Twill.Leases.Store;

/// <summary>
/// Lease keys as file names: letters, digits and <c>- : &amp; _</c> (and '.' but not first, so no
/// hidden or <c>..</c> names) stay; every other byte of the UTF-8 key is <c>%XX</c>-encoded.
/// </summary>
internal static class FileLeaseKeys
{
    /// <summary>The file name (without suffix) for a key.</summary>
    public static string Escape(string key)
    {
        StringBuilder sb = new(key.Length + 8);
        foreach (byte b in Encoding.UTF8.GetBytes(key))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or ':' or '&' or '_' || (c == '.' && sb.Length > 0))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    /// <summary>The key a file name stands for; null when the name is not one <see cref="Escape"/> makes.</summary>
    public static string? Unescape(string name)
    {
        List<byte> bytes = new(name.Length);
        for (int i = 0; i < name.Length; i++)
        {
            if (name[i] == '%')
            {
                if (i + 2 >= name.Length || !byte.TryParse(name.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                {
                    return null;
                }
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.Add((byte)name[i]);
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }
}
