namespace Bpi.Orchestration.Recording;

/// <summary>
/// One writer at a time for a deployment's record, awaited rather than blocked on. An uncontended enter and exit is one
/// atomic increment and one decrement (a record is saved several times per rollout, almost always by one writer at a
/// time); contenders wait their turn, first come first served, on a semaphore (made at the first contention) that only ever
/// hands the gate on.
/// </summary>
/// <remarks>
/// The count is holders plus waiters. A waiter whose wait is cancelled stays counted: its hand-off still arrives, and it
/// passes the gate on at once, so a cancellation never leaves a permit nobody holds or lets two writers in.
/// </remarks>
internal sealed class SaveGate : IDisposable
{
    private SemaphoreSlim? _handoff;
    private int _count;

    /// <summary>The hand-off semaphore, made by whichever contender needs it first: an uncontended gate never makes one.</summary>
    private SemaphoreSlim Handoff
    {
        get
        {
            var handoff = Volatile.Read(ref _handoff);
            if (handoff is not null)
            {
                return handoff;
            }

            var made = new SemaphoreSlim(0, int.MaxValue);
            handoff = Interlocked.CompareExchange(ref _handoff, made, null);
            if (handoff is null)
            {
                return made;
            }

            made.Dispose();
            return handoff;
        }
    }

    /// <summary>Enters the gate; completes at once when nobody holds it.</summary>
    /// <param name="cancellationToken">Cancels the wait (not a gate already entered).</param>
    public ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Interlocked.Increment(ref _count) == 1 ? ValueTask.CompletedTask : WaitTurnAsync(cancellationToken);
    }

    /// <summary>Leaves the gate, handing it to the next waiter if there is one.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) > 0)
        {
            Handoff.Release();
        }
    }

    public void Dispose() => Volatile.Read(ref _handoff)?.Dispose();

    private async ValueTask WaitTurnAsync(CancellationToken cancellationToken)
    {
        // The hand-off itself is never cancelled, so every Release reaches exactly one waiter.
        var turn = Handoff.WaitAsync(CancellationToken.None);
        if (!cancellationToken.CanBeCanceled)
        {
            await turn.ConfigureAwait(false);
            return;
        }

        try
        {
            await turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Give the turn away when it comes (at once if it came as the wait was cancelled): this writer no longer wants it.
            _ = turn.ContinueWith(static (_, gate) => ((SaveGate)gate!).Exit(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }
}
