using System.Text;

namespace Twill.Testing;

/// <summary>
/// A started server's stdout and stderr lines, bounded (the oldest half is dropped past 200 KB), so
/// a failure message can quote the last of them.
/// </summary>
public sealed class ProcessLog
{
    private readonly StringBuilder _text = new();

    public void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_text)
        {
            if (_text.Length > 200_000)
            {
                _text.Remove(0, 100_000);
            }
            _text.AppendLine(line);
        }
    }

    /// <summary>The last <paramref name="chars"/> characters logged.</summary>
    public string Tail(int chars)
    {
        lock (_text)
        {
            string all = _text.ToString();
            return all.Length > chars ? all[^chars..] : all;
        }
    }
}
