using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration;

/// <summary>One queued or running plan run of a deployment: a rollout, a rollback, a scale or a destroy.</summary>
internal sealed class RolloutWork(DeploymentEntry entry, RolloutControl control, RolloutKind kind, int? fromRevision, int toRevision, int startIndex, DeploymentSpec? previousSpec)
{
    private int _claim; // 0 queued, 1 running, 2 cancelled
    private TaskCompletionSource? _completion;
    private int _ended;

    public DeploymentEntry Entry { get; } = entry;

    public RolloutControl Control { get; } = control;

    public RolloutKind Kind { get; } = kind;

    public int? FromRevision { get; } = fromRevision;

    public int ToRevision { get; } = toRevision;

    public int StartIndex { get; } = startIndex;

    /// <summary>For a scale: the spec before the scale, restored if it fails.</summary>
    public DeploymentSpec? PreviousSpec { get; } = previousSpec;

    /// <summary>Completes when the run has ended (<see cref="End"/>); made only when someone waits for it (a destroy).</summary>
    public Task Completion
    {
        get
        {
            if (Volatile.Read(ref _ended) == 1)
            {
                return Task.CompletedTask;
            }

            var made = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var completion = Interlocked.CompareExchange(ref _completion, made, null) ?? made;

            // Ended between the check and the exchange: End may have missed the new source.
            if (Volatile.Read(ref _ended) == 1)
            {
                completion.TrySetResult();
            }

            return completion.Task;
        }
    }

    /// <summary>The actor who requested this run (the ambient actor when it was admitted).</summary>
    public string RequestedBy { get; } = OrchestrationActor.Current.Id;

    /// <summary>Follows the rollout for its <see cref="RolloutReport"/>; <see langword="null"/> for runs that are not rollouts of their own (a destroy).</summary>
    public RolloutTracker? Tracker { get; set; }

    /// <summary>Whether the run was cancelled while it was queued.</summary>
    public bool IsCancelled => Volatile.Read(ref _claim) == 2;

    /// <summary>Marks the run ended and releases whoever waits for <see cref="Completion"/>.</summary>
    public void End()
    {
        // A full fence between marking the end and looking for a waiter, as Completion has between the two in reverse.
        Interlocked.Exchange(ref _ended, 1);
        Volatile.Read(ref _completion)?.TrySetResult();
    }

    public bool TryStart() => Interlocked.CompareExchange(ref _claim, 1, 0) == 0;

    public bool TryCancelQueued() => Interlocked.CompareExchange(ref _claim, 2, 0) == 0;
}
