using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration;

/// <summary>
/// The VM's live view of one deployment: the current record (saved through the store on every change), the control of
/// its running rollout, and progress for status. Implements the executor's observer and the step context's host.
/// </summary>
internal sealed class DeploymentEntry : IRolloutHost, IRolloutObserver, IDisposable
{
    private readonly OrchestrationVm _vm;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _saveLock = new(1, 1);
    private readonly List<(string ComponentId, IReadOnlyDictionary<int, int> Weights, bool Approximated)> _traffic = new(1); // per component: a few
    private readonly List<StateWaiter> _waiters = [];
    private Action<bool, string>? _onPauseChanged; // one delegate per deployment, not per rollout
    private DeploymentRecord _record;
    private string? _currentStep;
    private StepAudit? _step; // the step that started last: its audit details, and its description once asked for
    private (AwaitReadyStep Step, int Ready)? _readiness; // the last readiness reported, spelled out when read
    private int _stepTotal;
    private int _progress;
    private bool _userPaused;
    private int _waiting;

    public DeploymentEntry(OrchestrationVm vm, DeploymentRecord record)
    {
        _vm = vm;
        _record = record;
    }

    public string DeploymentId => _record.Id;

    public DeploymentRecord Record => Volatile.Read(ref _record);

    /// <summary>The control of the queued or running rollout; <see langword="null"/> when none is.</summary>
    public RolloutControl Control { get; private set; } = IdleControl;

    /// <summary>The control before a deployment's first rollout: nothing reads it until a rollout installs its own.</summary>
    private static readonly RolloutControl IdleControl = new();

    /// <summary>The queued or running rollout; completed when none is.</summary>
    public RolloutWork? Work { get; private set; }

    public string? CurrentStep
    {
        get
        {
            lock (_gate)
            {
                // Formatted when asked for: a rollout announces every step, but few are looked at.
                return _currentStep
                       ?? (_readiness is { } r ? ReadinessText(r.Step, r.Ready) : null)
                       ?? (_step is null ? null : string.Create(CultureInfo.InvariantCulture, $"{_step.Index + 1}/{_stepTotal} {_step.Description}"));
            }
        }
    }

    public int Progress
    {
        get
        {
            lock (_gate)
            {
                return _progress;
            }
        }
    }

    public RolloutStepContext? StepContext { get; set; }

    public string RequestedBy => Work?.RequestedBy ?? OrchestrationActor.System.Id;

    /// <summary>The traffic last recorded for one component; default when none was.</summary>
    public (IReadOnlyDictionary<int, int>? Weights, bool Approximated) GetTraffic(string componentId)
    {
        lock (_gate)
        {
            var at = IndexOfTraffic(componentId);
            return at < 0 ? default : (_traffic[at].Weights, _traffic[at].Approximated);
        }
    }

    private int IndexOfTraffic(string componentId)
    {
        for (var i = 0; i < _traffic.Count; i++)
        {
            if (string.Equals(_traffic[i].ComponentId, componentId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Installs a fresh control for a new rollout and returns it.</summary>
    public RolloutWork BeginWork(RolloutKind kind, int? fromRevision, int toRevision, int startIndex, DeploymentSpec? previousSpec, DateTimeOffset? requestedAt = null)
    {
        var control = new RolloutControl(_onPauseChanged ??= OnPauseChanged);
        var work = new RolloutWork(this, control, kind, fromRevision, toRevision, startIndex, previousSpec);
        work.Tracker = new RolloutTracker(work, requestedAt ?? _vm.Time.GetUtcNow());
        lock (_gate)
        {
            // The previous control is not disposed: its worker may still be unwinding; it holds no timers.
            Control = control;
            Work = work;
            _userPaused = false;
            _waiting = 0;
            _currentStep = null;
            _step = null;
            _readiness = null;
            _progress = 0;
        }

        return work;
    }

    public void Dispose()
    {
        if (!ReferenceEquals(Control, IdleControl))
        {
            Control.Dispose();
        }

        _saveLock.Dispose();
    }

    public void EndWork(RolloutWork work)
    {
        lock (_gate)
        {
            if (ReferenceEquals(Work, work))
            {
                Work = null;
                _currentStep = null;
                _step = null;
                _readiness = null;
            }
        }

        work.End();
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
        await _saveLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        DeploymentRecord before, after;
        RolloutReport? ended = null;
        try
        {
            before = _record;
            after = change(before, state);

            // The change made a fresh copy nobody has seen yet: stamp it in place rather than copy it again.
            var now = at ?? _vm.Time.GetUtcNow();
            after = ReferenceEquals(after, before) ? before with { UpdatedAt = now } : after.Touch(now);
            if (before.State != after.State && Work?.Tracker is { } tracker && tracker.OnState(after, after.UpdatedAt) is { } report)
            {
                // The rollout's report is stored with the state that ends it: one save, never one without the other.
                ended = report;
                after = after with { History = AppendHistory(after.History, report, _vm.Options.RolloutHistoryLimit) };
            }

            await _vm.Store.SaveAsync(after, CancellationToken.None).ConfigureAwait(false);
            Volatile.Write(ref _record, after);
            if (before.State != after.State)
            {
                // Published under the save lock so watchers see state changes in the order they were stored.
                _vm.PublishStateChanged(before.State, after, message);
                SignalWaiters(after.State);
            }
        }
        finally
        {
            _saveLock.Release();
        }

        if (ended is not null)
        {
            _vm.RecordRolloutReport(ended);
        }

        if (before.State != after.State)
        {
            await _vm.AuditStateChangedAsync(before.State, after, message).ConfigureAwait(false);
        }

        return after;
    }

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
            _waiters.Add(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.Register(() =>
            {
                lock (_gate)
                {
                    _waiters.Remove(waiter);
                }

                waiter.Completion.TrySetCanceled(cancellationToken);
            });
        }

        return waiter.Completion.Task;
    }

    public ValueTask<DeploymentRecord> SetStateAsync(DeploymentState state, string? message = null)
        => UpdateAsync(static (r, state) => r with { State = state }, state, message);

    public RevisionSpec GetRevision(int number)
        => Record.FindRevision(number)
           ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, string.Create(CultureInfo.InvariantCulture, $"Revision {number} of deployment '{DeploymentId}' is not retained."));

    public void ReportProgress(string message)
    {
        lock (_gate)
        {
            _currentStep = message;
            _readiness = null;
        }

        _vm.Events.Publish(DeploymentId, DeploymentEventKind.Progress, Record.State, message);
    }

    public void ReportReadiness(AwaitReadyStep step, int ready)
    {
        lock (_gate)
        {
            // Spelled out when read (status) or watched, not on every poll of every rollout.
            _currentStep = null;
            _readiness = (step, ready);
        }

        if (_vm.Events.HasWatchers)
        {
            _vm.Events.Publish(DeploymentId, DeploymentEventKind.Progress, Record.State, ReadinessText(step, ready));
        }
    }

    private static string ReadinessText(AwaitReadyStep step, int ready)
        => string.Create(CultureInfo.InvariantCulture, $"{step.ComponentId} revision {step.Revision}: {ready} of {step.MinReady} ready");

    public void RecordTraffic(string componentId, IReadOnlyDictionary<int, int> weights, bool approximated)
    {
        lock (_gate)
        {
            var recorded = (componentId, (IReadOnlyDictionary<int, int>)new Dictionary<int, int>(weights), approximated);
            var at = IndexOfTraffic(componentId);
            if (at < 0)
            {
                _traffic.Add(recorded);
            }
            else
            {
                _traffic[at] = recorded;
            }
        }

        if (!_vm.Events.HasWatchers)
        {
            return;
        }

        var text = weights.Count == 0
            ? $"{componentId}: route removed"
            : $"{componentId}: " + string.Join(", ", weights.OrderBy(w => w.Key).Select(w => string.Create(CultureInfo.InvariantCulture, $"revision {w.Key} {w.Value}%"))) + (approximated ? " (approximated by replica ratio)" : "");
        _vm.Events.Publish(DeploymentId, DeploymentEventKind.Progress, Record.State, text);
    }

    public void SetWaiting(bool waiting, string reason)
    {
        bool changed;
        lock (_gate)
        {
            var before = _waiting > 0 || _userPaused;
            _waiting += waiting ? 1 : -1;
            changed = before != (_waiting > 0 || _userPaused);
        }

        if (changed)
        {
            _ = SetStateSafeAsync(waiting ? DeploymentState.Paused : DeploymentState.Deploying, reason);
        }
    }

    public ValueTask OnPlanStartedAsync(RolloutPlan plan, int startIndex, CancellationToken cancellationToken)
    {
        if (_vm.Events.HasWatchers)
        {
            _vm.Events.Publish(DeploymentId, DeploymentEventKind.PlanStarted, Record.State, $"{plan.Kind} with {plan.Strategy}: {plan.Steps.Count} step(s)" + (startIndex > 0 ? string.Create(CultureInfo.InvariantCulture, $", resuming at step {startIndex + 1}") : ""), new EventDetails(TotalSteps: plan.Steps.Count));
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask OnStepStartedAsync(RolloutPlan plan, int index, CancellationToken cancellationToken)
    {
        var step = plan.Steps[index];

        // One details object for the step's start and completion entries; the step is described only when someone reads
        // the description (an audit store writing it, a watcher, a status), not for every step of every rollout.
        var audit = new StepAudit(plan, index);
        lock (_gate)
        {
            _currentStep = null;
            _readiness = null;
            _step = audit;
            _stepTotal = plan.Steps.Count;
        }

        // The stored cursor already points at this step (set when the plan started or the previous step completed),
        // so a crash now resumes here; save only when it does not (a custom executor path), to keep one save per step.
        var record = Record;
        if (!CursorIs(record.Cursor, plan, index))
        {
            record = await UpdateAsync(static (r, s) => r with { Cursor = CursorFor(s.plan, s.index, r.Cursor) }, (plan, index), cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        if (_vm.Events.HasWatchers)
        {
            _vm.Events.Publish(DeploymentId, DeploymentEventKind.StepStarted, record.State, audit.Description, new EventDetails(index, plan.Steps.Count, step.Kind));
        }

        await _vm.AuditAsync(OrchestrationActor.System.Id, "rollout.step.started", DeploymentId, "started", audit).ConfigureAwait(false);
    }

    public async ValueTask OnStepCompletedAsync(RolloutPlan plan, int index, CancellationToken cancellationToken)
    {
        var step = plan.Steps[index];
        Work?.Tracker?.StepCompleted();
        var audit = AuditOf(plan, index);
        lock (_gate)
        {
            _progress = (int)((index + 1) * 100L / plan.Steps.Count);
        }

        var record = await UpdateAsync(static (r, s) => r with { Cursor = CursorFor(s.plan, s.index + 1, r.Cursor) }, (plan, index), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (_vm.Events.HasWatchers)
        {
            _vm.Events.Publish(DeploymentId, DeploymentEventKind.StepCompleted, record.State, audit.Description, new EventDetails(index, plan.Steps.Count, step.Kind));
        }

        await _vm.AuditAsync(record.UpdatedAt, OrchestrationActor.System.Id, "rollout.step.completed", DeploymentId, "succeeded", audit).ConfigureAwait(false);
    }

    public async ValueTask OnStepFailedAsync(RolloutPlan plan, int index, OrchestrationException error, CancellationToken cancellationToken)
    {
        var step = plan.Steps[index];
        var description = AuditOf(plan, index).Description;
        _vm.Events.Publish(DeploymentId, DeploymentEventKind.StepFailed, Record.State, $"{description}: {error.Message}", new EventDetails(index, plan.Steps.Count, step.Kind));
        var data = new AuditData(
        [
            new("plan", StateNames.Of(plan.Kind)),
            new("step.index", index.ToString(CultureInfo.InvariantCulture)),
            new("step.kind", step.Kind),
            new("step", description),
            new("error.kind", error.Kind.ToString()),
            new("error", error.Message),
        ]);
        await _vm.AuditAsync(OrchestrationActor.System.Id, "rollout.step.failed", DeploymentId, "failed", data).ConfigureAwait(false);
    }

    /// <summary>The audit details of a step: those made when it started, or new ones (a custom executor path).</summary>
    private StepAudit AuditOf(RolloutPlan plan, int index)
    {
        lock (_gate)
        {
            if (_step is { } current && current.Is(plan, index))
            {
                return current;
            }
        }

        return new StepAudit(plan, index);
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

    private static RolloutCursor CursorFor(RolloutPlan plan, int index, RolloutCursor? current)
        => new(plan.Kind, plan.FromRevision, plan.ToRevision, index, plan.Steps.Count, plan.Kind == RolloutKind.Rollback ? current?.FailedAtStep : null);

    /// <summary>Whether <paramref name="cursor"/> is the one <see cref="CursorFor"/> would make, without making it.</summary>
    private static bool CursorIs(RolloutCursor? cursor, RolloutPlan plan, int index)
        => cursor is not null
           && cursor.Kind == plan.Kind
           && cursor.FromRevision == plan.FromRevision
           && cursor.ToRevision == plan.ToRevision
           && cursor.StepIndex == index
           && cursor.TotalSteps == plan.Steps.Count
           && (plan.Kind == RolloutKind.Rollback || cursor.FailedAtStep is null);

    private void SignalWaiters(DeploymentState state)
    {
        List<StateWaiter>? done = null;
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Predicate(state))
                {
                    (done ??= []).Add(_waiters[i]);
                    _waiters.RemoveAt(i);
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

    private void OnPauseChanged(bool paused, string reason)
    {
        bool changed;
        lock (_gate)
        {
            var before = _waiting > 0 || _userPaused;
            _userPaused = paused;
            changed = before != (_waiting > 0 || _userPaused);
        }

        if (changed)
        {
            _ = SetStateSafeAsync(paused ? DeploymentState.Paused : DeploymentState.Deploying, reason);
        }
    }

    private async Task SetStateSafeAsync(DeploymentState state, string reason)
    {
        try
        {
            await UpdateAsync(r => r.State is DeploymentState.Deploying or DeploymentState.Paused ? r with { State = state } : r, reason).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Telemetry.Log.WorkerFailed(_vm.Logger, ex, DeploymentId);
        }
    }
}

/// <summary>Someone waiting for a deployment's state to satisfy a condition.</summary>
internal sealed class StateWaiter(Func<DeploymentState, bool> predicate)
{
    public Func<DeploymentState, bool> Predicate { get; } = predicate;

    public TaskCompletionSource<DeploymentState> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationTokenRegistration Registration { get; set; }
}

/// <summary>One queued or running rollout of a deployment.</summary>
internal sealed class RolloutWork(DeploymentEntry entry, RolloutControl control, RolloutKind kind, int? fromRevision, int toRevision, int startIndex, DeploymentSpec? previousSpec)
{
    private int _claim; // 0 queued, 1 running, 2 cancelled

    public DeploymentEntry Entry { get; } = entry;

    public RolloutControl Control { get; } = control;

    public RolloutKind Kind { get; } = kind;

    public int? FromRevision { get; } = fromRevision;

    public int ToRevision { get; } = toRevision;

    public int StartIndex { get; } = startIndex;

    /// <summary>For a scale: the spec before the scale, restored if it fails.</summary>
    public DeploymentSpec? PreviousSpec { get; } = previousSpec;

    private TaskCompletionSource? _completion;
    private int _ended;

    /// <summary>Completes when the rollout has ended (<see cref="End"/>); made only when someone waits for it (a destroy).</summary>
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

    /// <summary>Marks the rollout ended and releases whoever waits for <see cref="Completion"/>.</summary>
    public void End()
    {
        // A full fence between marking the end and looking for a waiter, as Completion has between the two in reverse.
        Interlocked.Exchange(ref _ended, 1);
        Volatile.Read(ref _completion)?.TrySetResult();
    }

    /// <summary>The actor who requested this rollout (the ambient actor when it was admitted).</summary>
    public string RequestedBy { get; } = OrchestrationActor.Current.Id;

    /// <summary>Follows the rollout for its <see cref="RolloutReport"/>.</summary>
    public RolloutTracker? Tracker { get; set; }

    public bool TryStart() => Interlocked.CompareExchange(ref _claim, 1, 0) == 0;

    public bool TryCancelQueued() => Interlocked.CompareExchange(ref _claim, 2, 0) == 0;

    /// <summary>Whether the rollout was cancelled while it was queued.</summary>
    public bool IsCancelled => Volatile.Read(ref _claim) == 2;
}
