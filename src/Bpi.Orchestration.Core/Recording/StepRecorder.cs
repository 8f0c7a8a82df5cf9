using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Recording;

/// <summary>
/// One deployment's side of a running plan: the executor's observer (it stores the cursor, publishes step events and
/// audits each step) and the step context's host (progress, traffic, waiting for a person). It writes through the
/// deployment's entry and the <see cref="DeploymentRecorder"/>, and never runs a step itself.
/// </summary>
internal sealed class StepRecorder : IRolloutObserver, IRolloutHost, IPauseListener
{
    private readonly DeploymentEntry _entry;
    private readonly DeploymentRecorder _recorder;
    private readonly Lock _gate; // the deployment's (DeploymentEntry.Gate)
    private bool _userPaused;
    private int _waiting;
    private object? _fencedWork;
    private int _nextStep; // the running plan's step under way or next to run, whether or not its cursor was stored

    public StepRecorder(DeploymentEntry entry, DeploymentRecorder recorder)
    {
        _entry = entry;
        _recorder = recorder;
        _gate = entry.Gate;
    }

    public string DeploymentId => _entry.DeploymentId;

    public string RequestedBy => _entry.RequestedBy;

    public RolloutControl Control => _entry.Control;

    public RevisionSpec GetRevision(int number) => _entry.GetRevision(number);

    public Runtime.WorkloadRevision? DescribeRetiring(string ownerId, string componentId, int revision)
        => ConvergePlans.RetiringWorkload(_entry.Record, ownerId, componentId, revision);

    public bool IsOutOfTraffic(string instanceId) => _entry.Healer?.IsOutOfTraffic(instanceId) == true;

    /// <summary>A new plan run begins: nobody pauses it and it waits for nobody.</summary>
    public void ResetWaiting()
    {
        lock (_gate)
        {
            _userPaused = false;
            _waiting = 0;
        }
    }

    public void ReportProgress(string message)
    {
        _entry.Progress.Report(message);
        _recorder.Events.Publish(DeploymentId, DeploymentEventKind.Progress, _entry.Record.State, message);
    }

    public void ReportReadiness(AwaitReadyStep step, int ready)
    {
        _entry.Progress.ReportReadiness(step, ready);
        if (_recorder.Events.HasWatchers)
        {
            _recorder.Events.Publish(DeploymentId, DeploymentEventKind.Progress, _entry.Record.State, RolloutProgress.ReadinessText(step, ready));
        }
    }

    public void RecordTraffic(string componentId, IReadOnlyDictionary<int, int> weights, bool approximated)
    {
        _entry.Progress.RecordTraffic(componentId, weights, approximated);
        if (!_recorder.Events.HasWatchers)
        {
            return;
        }

        var text = weights.Count == 0
            ? $"{componentId}: route removed"
            : $"{componentId}: " + string.Join(", ", weights.OrderBy(w => w.Key).Select(w => string.Create(CultureInfo.InvariantCulture, $"revision {w.Key} {w.Value}%"))) + (approximated ? " (approximated by replica ratio)" : "");
        _recorder.Events.Publish(DeploymentId, DeploymentEventKind.Progress, _entry.Record.State, text);
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

    public ValueTask EnsureOwnedAsync(CancellationToken cancellationToken)
    {
        var confirm = _recorder.Ownership.ConfirmAsync(DeploymentId, cancellationToken);
        if (!confirm.IsCompletedSuccessfully)
        {
            return AwaitConfirmAsync(confirm);
        }

        return confirm.Result ? ValueTask.CompletedTask : StopFencedAsync();
    }

    private async ValueTask AwaitConfirmAsync(ValueTask<bool> confirm)
    {
        if (!await confirm.ConfigureAwait(false))
        {
            await StopFencedAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask StopFencedAsync()
    {
        var message = await ReportLostAsync().ConfigureAwait(false);
        throw new OperationCanceledException(message);
    }

    /// <summary>
    /// This instance lost the deployment (found before acting, or its lease could not be renewed): stops what runs for
    /// it and records the loss once per plan run (event <see cref="DeploymentEventKind.OwnershipFenced"/>, audit
    /// <c>ownership.fenced</c>).
    /// </summary>
    /// <returns>The message recorded.</returns>
    public async ValueTask<string> ReportLostAsync()
    {
        // Stop acting: the running plan (a rollout, rollback or destroy) stops where it stands, its cursor stays stored
        // for the new owner; a repair is cancelled. Reported once per plan run.
        var work = _entry.Work;
        bool report;
        lock (_gate)
        {
            report = work is null || !ReferenceEquals(_fencedWork, work);
            _fencedWork = work;
        }

        work?.Control.StopLost();
        _entry.Healer?.CancelRepair();
        var message = $"This orchestrator instance no longer owns deployment '{DeploymentId}' (another instance holds its lease): it stopped acting on it and leaves it to the new owner.";
        if (report)
        {
            Telemetry.Log.OwnershipLost(_recorder.Logger, null, DeploymentId);
            _recorder.Events.Publish(DeploymentId, DeploymentEventKind.OwnershipFenced, _entry.Record.State, message);
            var data = new AuditData(
            [
                new("fencingToken", _recorder.Ownership.GetFencingToken(DeploymentId).ToString(CultureInfo.InvariantCulture)),
                new("step", _entry.Record.Cursor is { } cursor ? cursor.StepIndex.ToString(CultureInfo.InvariantCulture) : null),
            ]);
            await _recorder.AuditAsync(OrchestrationActor.System.Id, RolloutStepContext.OwnershipFencedEventName, DeploymentId, "stopped", data).ConfigureAwait(false);
        }

        return message;
    }

    /// <summary>
    /// The step of the running rollout (or rollback, scale) that is under way, or the next to run between steps (sweeps
    /// leave it alone): what the stored cursor would say if every step stored it. A rollout that is aborted rolls back
    /// from here (the stored cursor may be behind it by steps that only observe; see <see cref="OnlyObserves"/>).
    /// </summary>
    public int NextStep => Volatile.Read(ref _nextStep);

    public ValueTask OnPlanStartedAsync(RolloutPlan plan, int startIndex, CancellationToken cancellationToken)
    {
        if (!IsSweep(plan))
        {
            Volatile.Write(ref _nextStep, startIndex);
        }

        if (_recorder.Events.HasWatchers)
        {
            _recorder.Events.Publish(DeploymentId, DeploymentEventKind.PlanStarted, _entry.Record.State, $"{plan.Kind} with {plan.Strategy}: {plan.Steps.Count} step(s)" + (startIndex > 0 ? string.Create(CultureInfo.InvariantCulture, $", resuming at step {startIndex + 1}") : ""), new EventDetails(TotalSteps: plan.Steps.Count, Revision: RevisionOf(_entry.Record)));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask OnPlanCompletedAsync(RolloutPlan plan, CancellationToken cancellationToken)
    {
        if (_recorder.Events.HasWatchers)
        {
            _recorder.Events.Publish(DeploymentId, DeploymentEventKind.PlanCompleted, _entry.Record.State, string.Create(CultureInfo.InvariantCulture, $"{plan.Kind} with {plan.Strategy} completed: {plan.Steps.Count} step(s)"), new EventDetails(TotalSteps: plan.Steps.Count, Revision: RevisionOf(_entry.Record)));
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The revision an event is about: the rollout's target while one runs, else the serving revision.</summary>
    internal static int? RevisionOf(DeploymentRecord record) => record.TargetRevision ?? record.StableRevision;

    public async ValueTask OnStepStartedAsync(RolloutPlan plan, int index, DateTimeOffset? at, CancellationToken cancellationToken)
    {
        var step = plan.Steps[index];
        if (!IsSweep(plan))
        {
            Volatile.Write(ref _nextStep, index);
        }

        // One details object for the step's start and completion entries; the step is described only when someone reads
        // the description (an audit store writing it, a watcher, a status), not for every step of every rollout.
        var audit = new StepAudit(plan, index);
        _entry.Progress.StepStarted(audit, plan.Steps.Count);

        // The stored cursor already points at this step, or at a step before it with only steps that observe in between
        // (set when the plan started or a step that changes something completed), so a crash now resumes at or before
        // it; save only when it does not (a custom executor path), to keep at most one save per step.
        var record = _entry.Record;
        if (!IsSweep(plan) && !CursorLeadsTo(record.Cursor, plan, index))
        {
            record = await _entry.UpdateAsync(static (r, s) => r with { Cursor = CursorFor(s.plan, s.index, r.Cursor) }, (plan, index), cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        if (_recorder.Events.HasWatchers)
        {
            _recorder.Events.Publish(DeploymentId, DeploymentEventKind.StepStarted, record.State, audit.Description, new EventDetails(index, plan.Steps.Count, step.Kind, Revision: RevisionOf(record)));
        }

        await _recorder.AuditAsync(at ?? _recorder.Time.GetUtcNow(), OrchestrationActor.System.Id, "rollout.step.started", DeploymentId, "started", audit).ConfigureAwait(false);
    }

    public async ValueTask<DateTimeOffset> OnStepCompletedAsync(RolloutPlan plan, int index, CancellationToken cancellationToken)
    {
        var step = plan.Steps[index];
        if (!IsSweep(plan))
        {
            _entry.Work?.Tracker?.StepCompleted();
            Volatile.Write(ref _nextStep, index + 1);
        }

        var audit = _entry.Progress.StepCompleted(plan, index) ?? new StepAudit(plan, index);

        // The cursor moves past each step that changes something but the last: the run's ending stores the state that
        // ends it (serving, rolled back, scaled) with the cursor cleared, one save later. A stop in between resumes at
        // the last step, which is then run again (as a stop during any step would); a cursor past the end would have been
        // cleared the same way. A step that only observes (a readiness wait) stores nothing either: a resume runs it
        // again, which changes nothing, and the next step that changes something stores the cursor past both — one write
        // fewer per readiness wait, which with a database store is a round trip.
        var saved = !IsSweep(plan) && index + 1 < plan.Steps.Count && !OnlyObserves(step);
        var record = saved
            ? await _entry.UpdateAsync(static (r, s) => r with { Cursor = CursorFor(s.plan, s.index + 1, r.Cursor) }, (plan, index), cancellationToken: cancellationToken).ConfigureAwait(false)
            : _entry.Record;
        if (_recorder.Events.HasWatchers)
        {
            _recorder.Events.Publish(DeploymentId, DeploymentEventKind.StepCompleted, record.State, audit.Description, new EventDetails(index, plan.Steps.Count, step.Kind, Revision: RevisionOf(record)));
        }

        var completedAt = saved ? record.UpdatedAt : _recorder.Time.GetUtcNow();
        await _recorder.AuditAsync(completedAt, OrchestrationActor.System.Id, "rollout.step.completed", DeploymentId, "succeeded", audit).ConfigureAwait(false);
        return completedAt;
    }

    public async ValueTask OnStepFailedAsync(RolloutPlan plan, int index, OrchestrationException error, CancellationToken cancellationToken)
    {
        var step = plan.Steps[index];
        var description = AuditOf(plan, index).Description;
        _recorder.Events.Publish(DeploymentId, DeploymentEventKind.StepFailed, _entry.Record.State, $"{description}: {error.Message}", new EventDetails(index, plan.Steps.Count, step.Kind, Revision: RevisionOf(_entry.Record)));
        var data = new AuditData(
        [
            new("plan", StateNames.Of(plan.Kind)),
            new("step.index", index.ToString(CultureInfo.InvariantCulture)),
            new("step.kind", step.Kind),
            new("step", description),
            new("error.kind", error.Kind.ToString()),
            new("error", error.Message),
        ]);
        await _recorder.AuditAsync(OrchestrationActor.System.Id, "rollout.step.failed", DeploymentId, "failed", data).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the plan is a sweep (a destroy, a clean-up, a repair): planned again from what the runtime reports whenever it runs,
    /// so it stores no cursor of its own (the deployment's state says a destroy is under way; a clean-up keeps the cursor
    /// of the plan it follows) and counts in no rollout's report.
    /// </summary>
    private static bool IsSweep(RolloutPlan plan) => plan.Kind is RolloutKind.Cleanup or RolloutKind.Destroy or RolloutKind.Repair;

    /// <summary>The audit details of a step: those made when it started, or new ones (a custom executor path).</summary>
    private StepAudit AuditOf(RolloutPlan plan, int index) => _entry.Progress.StartedStep(plan, index) ?? new StepAudit(plan, index);

    private static RolloutCursor CursorFor(RolloutPlan plan, int index, RolloutCursor? current)
        => new(plan.Kind, plan.FromRevision, plan.ToRevision, index, plan.Steps.Count, plan.Kind == RolloutKind.Rollback ? current?.FailedAtStep : null);

    /// <summary>
    /// Whether a step changes nothing, so running it again after a crash is harmless and its completion need not be
    /// stored: waiting until instances are ready reads the runtime and nothing else. (A pause, an approval, an analysis
    /// or a hook is not: running it again would wait, ask or judge again.)
    /// </summary>
    internal static bool OnlyObserves(RolloutStep step) => step is AwaitReadyStep;

    /// <summary>
    /// Whether <paramref name="cursor"/> is one of <paramref name="plan"/>'s, made by <see cref="CursorFor"/>, at step
    /// <paramref name="index"/> or before it with only steps that observe in between: resuming from it reaches this step
    /// having run again nothing that changes anything.
    /// </summary>
    private static bool CursorLeadsTo(RolloutCursor? cursor, RolloutPlan plan, int index)
    {
        if (cursor is null
            || cursor.Kind != plan.Kind
            || cursor.FromRevision != plan.FromRevision
            || cursor.ToRevision != plan.ToRevision
            || cursor.StepIndex > index
            || cursor.TotalSteps != plan.Steps.Count
            || (plan.Kind != RolloutKind.Rollback && cursor.FailedAtStep is not null))
        {
            return false;
        }

        for (var i = cursor.StepIndex; i < index; i++)
        {
            if (!OnlyObserves(plan.Steps[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Called by a plan's control when a person pauses or resumes it.</summary>
    public void PauseChanged(bool paused, string reason)
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
            await _entry.UpdateAsync(r => r.State is DeploymentState.Deploying or DeploymentState.Paused ? r with { State = state } : r, reason).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Telemetry.Log.WorkerFailed(_recorder.Logger, ex, DeploymentId);
        }
    }
}
