namespace Twill.Lab;

/// <summary>
/// The lab's state file used as a journal: every change is saved before the thing it names is
/// made (a namespace, a process, a pod), so <c>down</c> after a crash at any point removes exactly
/// what was made, and nothing else. Thread-safe: pods are added from several threads.
/// </summary>
internal sealed class LabJournal
{
    private readonly string _path;

    /// <summary>Starts the journal with <paramref name="state"/>, saved at once.</summary>
    public LabJournal(LabState state, string path)
    {
        State = state;
        _path = path;
        Save();
    }

    public LabState State { get; }

    /// <summary>Applies <paramref name="change"/> and saves; call it before making what it records.</summary>
    public void Record(Action<LabState> change)
    {
        lock (State)
        {
            change(State);
            State.Save(_path);
        }
    }

    /// <summary>Applies <paramref name="change"/> without saving (the next <see cref="Record"/> or <see cref="Save"/> writes it).</summary>
    public void Note(Action<LabState> change)
    {
        lock (State)
        {
            change(State);
        }
    }

    public void Save()
    {
        lock (State)
        {
            State.Save(_path);
        }
    }
}
