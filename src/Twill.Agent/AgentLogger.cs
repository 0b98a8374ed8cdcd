using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Twill.Agent;

/// <summary>
/// Structured, quiet logs on stderr, one line per event: <c>2026-11-27T05:00:00.123Z info msg="..." key=value</c>.
/// Message-template holes become key=value pairs, so lines stay greppable. No threads, no reflection.
/// </summary>
public sealed class AgentLogger(LogLevelName minimum, TextWriter? output = null) : ILogger
{
    private readonly TextWriter _out = output ?? Console.Error;
    private readonly Lock _gate = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= Map(minimum);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }
        StringBuilder line = new();
        line.Append(DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
            .Append(' ').Append(Name(logLevel))
            .Append(" msg=\"").Append(formatter(state, exception).Replace("\"", "'", StringComparison.Ordinal)).Append('"');
        if (state is IReadOnlyList<KeyValuePair<string, object?>> pairs)
        {
            foreach (KeyValuePair<string, object?> kv in pairs)
            {
                if (kv.Key == "{OriginalFormat}")
                {
                    continue;
                }
                string value = Convert.ToString(kv.Value, CultureInfo.InvariantCulture) ?? "";
                line.Append(' ').Append(char.ToLowerInvariant(kv.Key[0])).Append(kv.Key.AsSpan(1)).Append('=');
                line.Append(value.Contains(' ', StringComparison.Ordinal) ? "\"" + value + "\"" : value);
            }
        }
        if (exception is not null)
        {
            line.Append(" error=\"").Append(exception.Message.Replace("\"", "'", StringComparison.Ordinal)).Append('"');
        }
        lock (_gate)
        {
            _out.WriteLine(line.ToString());
            _out.Flush();
        }
    }

    private static LogLevel Map(LogLevelName level) => level switch
    {
        LogLevelName.Debug => LogLevel.Debug,
        LogLevelName.Info => LogLevel.Information,
        LogLevelName.Warning => LogLevel.Warning,
        _ => LogLevel.Error,
    };

    private static string Name(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        _ => "error",
    };
}
