using Spectre.Console;

namespace Twill.Lab;

/// <summary>Renders the lab for a person: steps as they finish, the check matrix, status tables (Spectre.Console).</summary>
public sealed class LabConsole : ILabReporter
{
    private readonly IAnsiConsole _console;

    public LabConsole(IAnsiConsole? console = null)
    {
        _console = console ?? AnsiConsole.Console;
        if (console is null && Console.IsOutputRedirected)
        {
            // Piped into a log or a test: no terminal width to fit, so do not wrap sentences at 80.
            _console.Profile.Width = 200;
        }
    }

    public void Step(string what, TimeSpan elapsed) =>
        _console.MarkupLine($"[green]✓[/] {Markup.Escape(what)} [grey]{elapsed.TotalSeconds:0.00} s[/]");

    public void Note(string text) => _console.MarkupLine($"[grey]{Markup.Escape(text)}[/]");

    public void Warn(string text) => _console.MarkupLine($"[yellow]![/] {Markup.Escape(text)}");

    public void Error(string text) => _console.MarkupLine($"[red]✗[/] {Markup.Escape(text)}");

    public void Heading(string text) => _console.MarkupLine($"[bold]{Markup.Escape(text)}[/]");

    /// <summary>The pods × pods matrix: ✓ and the ping round trip, ✗ where ping or TCP failed; then the other probes and the verdict.</summary>
    public void Matrix(CheckReport report, LabState state)
    {
        Table table = new() { Border = TableBorder.Rounded };
        table.AddColumn(new TableColumn("[bold]from \\ to[/]"));
        foreach (string pod in report.Pods)
        {
            table.AddColumn(new TableColumn(Markup.Escape(pod)).Centered());
        }
        Dictionary<(string, string), CheckProbe> pairs = report.Of(CheckKind.PodToPod)
            .ToDictionary(p => (state.Pods.First(s => s.Namespace == p.From).Name, p.To));
        foreach (LabPodState from in state.Pods)
        {
            List<string> row = [$"{Markup.Escape(from.Name)} [grey]{Markup.Escape(from.Address ?? "no address")}[/]"];
            foreach (string to in report.Pods)
            {
                row.Add(to == from.Name ? "[grey]·[/]"
                    : pairs.TryGetValue((from.Name, to), out CheckProbe? p) ? Cell(p)
                    : "[red]✗[/]");
            }
            table.AddRow(row.ToArray());
        }
        _console.Write(table);

        const int Shown = 12;
        List<CheckProbe> failed = [.. report.Of(CheckKind.HostPort).Concat(report.Of(CheckKind.PodToNode)).Concat(report.Of(CheckKind.PodToPod)).Where(p => !p.Ok)];
        foreach (CheckProbe p in failed.Take(Shown))
        {
            string what = p.Kind switch
            {
                CheckKind.HostPort => $"hostPort {p.Address}:{p.Port} → {p.To} from {p.From}",
                CheckKind.PodToNode => $"{p.From} → node {p.To} ({p.Address})",
                _ => $"{p.From} → {p.To} ({p.Address})",
            };
            Error($"{what}: {p.Failure}");
        }
        if (failed.Count > Shown)
        {
            Error($"... and {failed.Count - Shown} more failed probes");
        }
        string color = report.Ok ? "green" : "red";
        _console.MarkupLine($"[bold {color}]{Markup.Escape(report.Verdict)}[/] [grey]({report.Elapsed.TotalSeconds:0.00} s)[/]");
    }

    private static string Cell(CheckProbe p) => p.Ok
        ? $"[green]✓[/] [grey]{p.Ping!.Elapsed.TotalMilliseconds:0.0}ms[/]"
        : "[red]✗[/]";

    public void Table(string[] columns, IEnumerable<string[]> rows)
    {
        Table table = new() { Border = TableBorder.Rounded };
        foreach (string c in columns)
        {
            table.AddColumn(Markup.Escape(c));
        }
        foreach (string[] row in rows)
        {
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }
        _console.Write(table);
    }
}
