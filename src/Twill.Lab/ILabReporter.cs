namespace Twill.Lab;

/// <summary>Where the lab tells the user what it is doing (the CLI renders it; tests may capture it).</summary>
public interface ILabReporter
{
    /// <summary>A step finished: what was done and how long it took.</summary>
    void Step(string what, TimeSpan elapsed);

    /// <summary>Something worth knowing that is not a failure.</summary>
    void Note(string text);

    /// <summary>Something went wrong but the operation goes on (down after a crash).</summary>
    void Warn(string text);
}
