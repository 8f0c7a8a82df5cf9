using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Tests.State;

/// <summary>
/// An in-memory store that holds the first save whose autoscaler memory records an applied scale (the autoscaler's own
/// store of it, made when its pass has queued the scale) until the test releases it.
/// </summary>
internal sealed class MemoryHoldingStore : InMemoryStoreDecorator, IDisposable
{
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _held;

    /// <summary>Completes when that save is being held.</summary>
    public Task Holding => _holding.Task;

    public void Release() => _released.TrySetResult();

    /// <summary>Releases the held save (if any) for good.</summary>
    public void Dispose() => Release();

    public override async ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        if (record.Autoscalers is { } memories && memories.Any(m => m.Scales.Count > 0) && Interlocked.Exchange(ref _held, 1) == 0)
        {
            _holding.TrySetResult();
            await _released.Task.WaitAsync(cancellationToken);
        }

        return await SaveInnerAsync(record, cancellationToken);
    }
}
