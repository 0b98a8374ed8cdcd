using Xunit.Abstractions;
using Microsoft.Extensions.Logging;

namespace Twill.Bgp.Tests;

/// <summary>Keeps every log line (and writes it to the test output) so tests can wait for one.</summary>
internal sealed class ListLogger(ITestOutputHelper? output = null) : ILogger
{
    private readonly List<(DateTime At, LogLevel Level, string Text)> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines.Select(l => $"{l.Level}: {l.Text}")];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string text = formatter(state, exception) + (exception is null ? "" : " " + exception);
        lock (_lines)
        {
            _lines.Add((DateTime.UtcNow, logLevel, text));
        }
        try
        {
            output?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {text}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished; its output is closed.
        }
    }

    /// <summary>Waits until a line contains <paramref name="text"/>; returns it, or null after <paramref name="timeout"/>.</summary>
    public string? WaitFor(string text, TimeSpan timeout)
    {
        DateTime end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            string? line = Lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }
            Thread.Sleep(50);
        }
        return null;
    }
}
