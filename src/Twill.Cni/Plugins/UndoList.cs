namespace Twill.Cni.Plugins;

/// <summary>
/// What to take back if an ADD fails part-way: each step that made something pushes its undo;
/// <see cref="Commit"/> at the end keeps everything; disposing without it runs the undos, last
/// first (as the reference's deferred cleanups run). An undo that fails is passed over: the
/// original failure is the one to report, and the remaining undos still run.
/// </summary>
internal sealed class UndoList : IDisposable
{
    private readonly Stack<Action> _undos = new();
    private bool _committed;

    public void Push(Action undo) => _undos.Push(undo);

    /// <summary>The ADD succeeded: nothing is undone.</summary>
    public void Commit() => _committed = true;

    public void Dispose()
    {
        if (_committed)
        {
            return;
        }
        while (_undos.TryPop(out Action? undo))
        {
            try
            {
                undo();
            }
            catch (Exception)
            {
                // the original failure is the one to report
            }
        }
    }
}
