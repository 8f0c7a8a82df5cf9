using System.Globalization;
using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration;

/// <summary>
/// The orchestrator's live view of one deployment: the current record (saved through the recorder on every change), the
/// queued or running plan and its control, and the progress shown in status. It holds state and runs nothing: the
/// executor's observer and the step context's host is <see cref="Steps"/>.
/// </summary>
internal sealed class DeploymentEntry : IDisposable
{
    private readonly DeploymentRecorder _recorder;
    private readonly Lock _gate = new();
    private readonly SaveGate _saveLock = new();
    private List<StateWaiter>? _waiters; // made when someone first waits (under the gate): most deployments are never waited on
    private DeploymentRecord _record;

    public DeploymentEntry(DeploymentRecord record, DeploymentRecorder recorder)
    {
        _record = record;
        _recorder = recorder;
        Steps = new StepRecorder(this, recorder);
    }

    public string DeploymentId => _record.Id;

    /// <summary>
    /// The lock of this deployment's live state, shared by the entry, its step recorder, its healer and its plans'
    /// controls: one lock object per deployment instead of one per part. Every section under it is short and never waits.
    /// (Progress, written several times per step and calling nothing, has a leaf lock of its own.)
    /// </summary>
    public Lock Gate => _gate;

    public DeploymentRecord Record => Volatile.Read(ref _record);

    /// <summary>The control of the queued or running plan; an idle one while none is.</summary>
    public RolloutControl Control { get; private set; } = IdleControl;

    /// <summary>The control while no plan of the deployment's own runs: never paused, aborted or waiting (a repair's steps only read it).</summary>
    private static readonly RolloutControl IdleControl = new();

    /// <summary>The queued or running plan; <see langword="null"/> when none is.</summary>
    public RolloutWork? Work { get; private set; }

    /// <summary>What the running plan is doing, for status.</summary>
    public RolloutProgress Progress { get; } = new();

    /// <summary>The executor's observer and the step context's host for this deployment.</summary>
    public StepRecorder Steps { get; }

    /// <summary>Keeps the deployment at its desired state between plan runs; <see langword="null"/> when self-healing is off.</summary>
    public Healing.DeploymentHealer? Healer { get; set; }

    /// <summary>The autoscaler's memory of this deployment (history, last decisions); <see langword="null"/> while no component autoscales.</summary>
    public Autoscaling.ComponentAutoscalers? Autoscaler { get; set; }

    /// <summary>What step handlers use while they run a step of this deployment.</summary>
    public RolloutStepContext? StepContext { get; set; }

    public string RequestedBy => Work?.RequestedBy ?? OrchestrationActor.System.Id;

    /// <summary>
    /// How many plan runs of the deployment's own have begun; bumped before a run takes the deployment. A repair notes it
    /// when it reads the record and acts only while it is unchanged, so it never acts on a superseded record.
    /// </summary>
    public long WorkGeneration => Interlocked.Read(ref _workGeneration);

    private long _workGeneration;

    /// <summary>Installs a fresh control for a new plan run and returns the run.</summary>
    public RolloutWork BeginWork(RolloutKind kind, int? fromRevision, int toRevision, int startIndex, DeploymentSpec? previousSpec, DateTimeOffset? requestedAt = null, bool tracked = true)
    {
        var control = new RolloutControl(Steps, _gate);
        var work = new RolloutWork(this, control, kind, fromRevision, toRevision, startIndex, previousSpec);
        if (tracked)
        {
            work.Tracker = new RolloutTracker(work, requestedAt ?? _recorder.Time.GetUtcNow());
        }

        Interlocked.Increment(ref _workGeneration);
        lock (_gate)
        {
            // The previous control is not disposed: its worker may still be unwinding; it holds no timers.
            Control = control;
            Work = work;
        }

        // A plan run of the deployment's own wins over a repair under way (set after Work, so the healer sees one or the other).
        Healer?.CancelRepair();

        Steps.ResetWaiting();
        Progress.Reset();
        return work;
    }

    public void EndWork(RolloutWork work)
    {
        var ended = false;
        lock (_gate)
        {
            if (ReferenceEquals(Work, work))
            {
                // Between runs the entry holds the idle control, not the ended run's (which the run itself still holds
                // while it unwinds): an idle or destroyed deployment keeps no control, source or lock of a past run.
                Work = null;
                Control = IdleControl;
                ended = true;
            }
        }

        if (ended)
        {
            Progress.Clear();
        }

        work.End();
        if (ended)
        {
            // Between plan runs self-healing takes over: it looks at what the run left a moment later.
            Healer?.WakeAfterRun();
        }
    }

    /// <summary>
    /// The deployment is destroyed: stops its healer (which drops the timers that would keep the entry, and everything it
    /// references, alive until they fire) and lets go of what only a live deployment uses (the healer, the traffic its
    /// last plan recorded). A destroyed entry is kept only to answer queries, up to
    /// <see cref="OrchestrationOptions.DestroyedDeploymentsRetained"/> of them, and everything it keeps is copied by every
    /// garbage collection while it is kept.
    /// </summary>
    public void Retire()
    {
        // Stopping cancels the healer's lifetime source, which then holds no timer or handle: nothing is left to dispose,
        // and a pass still unwinding keeps its own reference.
        Healer?.RequestStop();
        Healer = null;
        Progress.ForgetTraffic();
    }

    public void Dispose()
    {
        if (!ReferenceEquals(Control, IdleControl))
        {
            Control.Dispose();
        }

        Healer?.Dispose();
        _saveLock.Dispose();
    }

    /// <summary>Applies a change to the record, saves it, and publishes a state change when the state changed.</summary>
    public ValueTask<DeploymentRecord> UpdateAsync(Func<DeploymentRecord, DeploymentRecord> change, string? message = null, CancellationToken cancellationToken = default)
        => UpdateAsync(static (record, change) => change(record), change, message, cancellationToken: cancellationToken);

    /// <summary>
    /// Applies a change to the record, saves it, and publishes a state change when the state changed. The change gets
    /// <paramref name="state"/>, so a hot path passes a static lambda and allocates no closure.
    /// </summary>
    /// <remarks><paramref name="at"/> is the update's time when the caller already read the clock for it (a completion time); otherwise now.</remarks>
    public async ValueTask<DeploymentRecord> UpdateAsync<TState>(Func<DeploymentRecord, TState, DeploymentRecord> change, TState state, string? message = null, DateTimeOffset? at = null, CancellationToken cancellationToken = default)
    {
        await _saveLock.EnterAsync(cancellationToken).ConfigureAwait(false);
        DeploymentRecord before, after;
        RolloutReport? ended = null;
        try
        {
            before = _record;
            after = change(before, state);

            // The change made a fresh copy nobody has seen yet: stamp it in place rather than copy it again.
            var now = at ?? _recorder.Time.GetUtcNow();
            var fencingToken = _recorder.Ownership.GetFencingToken(before.Id);
            after = ReferenceEquals(after, before) ? before with { UpdatedAt = now, FencingToken = fencingToken } : after.Touch(now, fencingToken);
            if (before.State != after.State && Work?.Tracker is { } tracker && tracker.OnState(after, after.UpdatedAt) is { } report)
            {
                // The rollout's report is stored with the state that ends it: one save, never one without the other.
                ended = report;
                // `after` is the fresh copy stamped above, not yet seen by anyone: set in place rather than copied again.
                after = after.WithHistoryInPlace(AppendHistory(after.History, report, _recorder.RolloutHistoryLimit));
            }

            after.StoredAs(await _recorder.SaveAsync(after).ConfigureAwait(false));
            Volatile.Write(ref _record, after);
            if (before.State != after.State)
            {
                // Published under the save lock so watchers see state changes in the order they were stored.
                _recorder.PublishStateChanged(before.State, after, message);
                SignalWaiters(after.State);
            }
        }
        finally
        {
            _saveLock.Exit();
        }

        if (ended is not null)
        {
            _recorder.RecordRolloutReport(ended);
        }

        if (before.State != after.State)
        {
            await _recorder.AuditStateChangedAsync(before.State, after, message).ConfigureAwait(false);
        }

        return after;
    }

    /// <summary>
    /// Replaces the record with the one stored by another orchestrator instance (a refresh, or a take-over that goes on
    /// from what the previous owner stored), waking waiters when the state changed. Nothing is saved, published or
    /// audited: the instance that wrote the record did that.
    /// </summary>
    public async ValueTask ReplaceRecordAsync(DeploymentRecord stored, CancellationToken cancellationToken = default)
    {
        await _saveLock.EnterAsync(cancellationToken).ConfigureAwait(false);
        DeploymentState before;
        try
        {
            before = _record.State;
            if (stored.Version < _record.Version)
            {
                return;
            }

            Volatile.Write(ref _record, stored);
        }
        finally
        {
            _saveLock.Exit();
        }

        if (before != stored.State)
        {
            SignalWaiters(stored.State);
        }
    }

    public ValueTask<DeploymentRecord> SetStateAsync(DeploymentState state, string? message = null)
        => UpdateAsync(static (r, state) => r with { State = state }, state, message);

    public RevisionSpec GetRevision(int number)
        => Record.FindRevision(number)
           ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, string.Create(CultureInfo.InvariantCulture, $"Revision {number} of deployment '{DeploymentId}' is not retained."));

    /// <summary>Completes when the state satisfies <paramref name="predicate"/> (at once if it does now).</summary>
    public Task<DeploymentState> WaitForStateAsync(Func<DeploymentState, bool> predicate, CancellationToken cancellationToken)
    {
        StateWaiter waiter;
        lock (_gate)
        {
            var state = Record.State;
            if (predicate(state))
            {
                return Task.FromResult(state);
            }

            waiter = new StateWaiter(predicate);
            (_waiters ??= []).Add(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.Register(() =>
            {
                lock (_gate)
                {
                    _waiters?.Remove(waiter);
                }

                waiter.Completion.TrySetCanceled(cancellationToken);
            });
        }

        return waiter.Completion.Task;
    }

    private void SignalWaiters(DeploymentState state)
    {
        List<StateWaiter>? done = null;
        lock (_gate)
        {
            var waiters = _waiters;
            for (var i = (waiters?.Count ?? 0) - 1; i >= 0; i--)
            {
                if (waiters![i].Predicate(state))
                {
                    (done ??= []).Add(waiters[i]);
                    waiters.RemoveAt(i);
                }
            }
        }

        if (done is not null)
        {
            foreach (var waiter in done)
            {
                waiter.Registration.Dispose();
                waiter.Completion.TrySetResult(state);
            }
        }
    }

    private static RolloutReport[] AppendHistory(IReadOnlyList<RolloutReport> history, RolloutReport report, int limit)
    {
        var skip = Math.Max(0, history.Count + 1 - limit);
        var kept = new RolloutReport[history.Count - skip + 1];
        for (var i = skip; i < history.Count; i++)
        {
            kept[i - skip] = history[i];
        }

        kept[^1] = report;
        return kept;
    }
}

/// <summary>Someone waiting for a deployment's state to satisfy a condition.</summary>
internal sealed class StateWaiter(Func<DeploymentState, bool> predicate)
{
    public Func<DeploymentState, bool> Predicate { get; } = predicate;

    public TaskCompletionSource<DeploymentState> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationTokenRegistration Registration { get; set; }
}
