using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Tests.State;

/// <summary>An in-memory store that keeps every record it was asked to save, in order, for tests that count saves.</summary>
internal sealed class RecordingStore : InMemoryStoreDecorator
{
    private readonly List<DeploymentRecord> _saved = [];

    /// <summary>Every record saved so far, oldest first (a copy).</summary>
    public IReadOnlyList<DeploymentRecord> Saved
    {
        get
        {
            lock (_saved)
            {
                return [.. _saved];
            }
        }
    }

    /// <summary>The cursor step of each record saved for <paramref name="id"/>, in order (<see langword="null"/>: no cursor).</summary>
    public int?[] CursorsOf(string id) => [.. Saved.Where(r => r.Id == id).Select(r => r.Cursor?.StepIndex)];

    public override ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        lock (_saved)
        {
            _saved.Add(record);
        }

        return SaveInnerAsync(record, cancellationToken);
    }
}
