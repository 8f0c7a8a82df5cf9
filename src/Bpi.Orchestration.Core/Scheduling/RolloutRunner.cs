using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration;

/// <summary>
/// Runs admitted work: the queue hands it a plan run, it plans (strategy, scale or teardown), runs the plan with the one
/// <see cref="RolloutExecutor"/> and ends it — serving, rolled back, failed, destroyed. It also resumes the runs a
/// stopped process left unfinished.
/// </summary>
internal sealed partial class RolloutRunner : IDisposable
{
    private readonly IReadOnlyDictionary<string, IRolloutStrategy> _strategies;
    private readonly RolloutExecutor _executor;
    private readonly ResourceLedger _ledger;
    private readonly DeploymentRecorder _recorder;
    private readonly DeploymentRegistry _registry;
    private readonly OrchestrationOptions _options;
    private readonly CancellationTokenSource _stopping = new();

    public RolloutRunner(
        IReadOnlyDictionary<string, IRolloutStrategy> strategies,
        RolloutExecutor executor,
        ResourceLedger ledger,
        DeploymentRecorder recorder,
        DeploymentRegistry registry,
        OrchestrationOptions options,
        IWorkloadRuntime? runtime,
        ITrafficRouter? router,
        RuntimeRetry runtimePipeline)
    {
        _strategies = strategies;
        _executor = executor;
        _ledger = ledger;
        _recorder = recorder;
        _registry = registry;
        _options = options;
        Runtime = runtime;
        Router = router;
        RuntimePipeline = runtimePipeline;
        Queue = new RolloutQueue(options.MaxConcurrentDeployments, ExecuteWorkAsync, recorder.Telemetry);
    }

    public RolloutQueue Queue { get; }

    public IWorkloadRuntime? Runtime { get; }

    public ITrafficRouter? Router { get; }

    public RuntimeRetry RuntimePipeline { get; }

    private TimeProvider Time => _recorder.Time;

    private OrchestrationTelemetry Telemetry => _recorder.Telemetry;

    public IWorkloadRuntime RequireRuntime()
        => Runtime ?? throw new OrchestrationException(
            OrchestrationErrorKind.InvalidConfiguration,
            "No workload runtime is registered. Add one to the orchestration builder: .AddInMemoryRuntime() (Bpi.Orchestration.Testing), .AddProcessRuntime() or .AddDocker() (Bpi.Orchestration.Components).");

    /// <summary>The strategy's plan for a rollout, refused when a step has no handler.</summary>
    public RolloutPlan PlanRollout(RolloutContext context)
    {
        var plan = _strategies[context.Desired.Spec.Strategy.Name].Plan(context);
        var unhandled = _executor.FindUnhandledSteps(plan);
        if (unhandled.Count > 0)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The plan uses steps no handler is registered for: {string.Join(", ", unhandled)}.");
        }

        return plan;
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>Stops every run where it stands (cursors stay stored, resumed on the next start) and the queue.</summary>
    public async Task StopAsync(bool started, CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var entry in _registry.Entries)
        {
            // Runs go on their control's token, not one linked to the stopping token: stop each where it stands.
            entry.Work?.Control.Stop();
        }

        if (started)
        {
            await Queue.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs one rollout from the queue to its end: success, rollback, failure, or interruption by a stop.</summary>
    private async Task ExecuteWorkAsync(RolloutWork work)
    {
        var entry = work.Entry;
        try
        {
            if (_stopping.IsCancellationRequested || work.Control.IsLost || !_recorder.Ownership.ShouldAct(entry.DeploymentId))
            {
                // Left queued in the store; resumed on the next start, or by the instance that owns the deployment now.
                return;
            }

            if (work.Control.IsAborted)
            {
                if (!work.Control.ForceAbort)
                {
                    await FinishAbortedBeforeStartAsync(work).ConfigureAwait(false);
                }

                return;
            }

            await RunWorkAsync(work).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested || work.Control.IsLost)
        {
            // Stopped while planning or ending: the record keeps what was stored; the run resumes on the next start
            // (or on the instance that took the deployment over).
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && (work.Control.IsLost || !_recorder.Ownership.ShouldAct(entry.DeploymentId)))
        {
            // This instance lost the deployment (a write refused by fencing, or a lease it could not renew): the new
            // owner continues from the stored cursor, so nothing more is written from here.
            Log.OwnershipLost(_recorder.Logger, ex, entry.DeploymentId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.WorkerFailed(_recorder.Logger, ex, entry.DeploymentId);
            try
            {
                // A static change with its message as state: a lambda capturing the exception here would make the
                // compiler allocate its closure on every run, failed or not.
                await entry.UpdateAsync(static (r, message) => r with { State = DeploymentState.Failed, Cursor = null, Message = message }, $"Internal error: {ex.Message}", "failed").ConfigureAwait(false);
            }
            catch (Exception inner) when (inner is not OutOfMemoryException)
            {
                Log.WorkerFailed(_recorder.Logger, inner, entry.DeploymentId);
            }
        }
        finally
        {
            entry.EndWork(work);
        }
    }

    private async Task RunWorkAsync(RolloutWork work)
    {
        var entry = work.Entry;
        var control = work.Control;
        if (entry.Healer is { } healer)
        {
            // A repair cancelled by this run unwinds before the run touches the runtime.
            await healer.WaitIdleAsync().ConfigureAwait(false);
        }

        var record = entry.Record;
        var kind = RunKind.Of(work.Kind);
        var desired = entry.GetRevision(work.ToRevision);
        var stable = kind.Previous(work, record, desired);
        var strategy = _strategies.GetValueOrDefault(desired.Spec.Strategy.Name) ?? _strategies[RecreateStrategySpec.StrategyName];
        var context = new RolloutContext(entry.DeploymentId, stable, desired, Router is not null);
        var started = Telemetry.RolloutStartTimestamp(Time);

        if (kind.ContinuesRollback)
        {
            // Resuming an interrupted rollback.
            var failedAt = record.Cursor?.FailedAtStep ?? 0;
            var rollbackPlan = strategy.PlanRollback(context, failedAt);
            await RunRollbackAsync(work, rollbackPlan, work.StartIndex, stable, record.Message ?? "interrupted rollback resumed", strategy.Name, started).ConfigureAwait(false);
            return;
        }

        var plan = await kind.PlanAsync(this, entry, strategy, context).ConfigureAwait(false);
        var planned = await entry.UpdateAsync(
            static (r, s) => r with
            {
                State = s.paused ? DeploymentState.Paused : DeploymentState.Deploying,
                Cursor = s.cursor,
            },
            (paused: control.IsPaused, cursor: new RolloutCursor(plan.Kind, plan.FromRevision, plan.ToRevision, work.StartIndex, plan.Steps.Count)),
            work.StartIndex > 0 ? "resumed" : "deploying").ConfigureAwait(false);

        OrchestrationException? failure = null;
        var failedAtStep = 0;
        var aborted = false;
        try
        {
            // Cancelled by an abort or by the orchestrator stopping (StopAsync stops every rollout's control).
            await _executor.RunAsync(entry.Steps, entry.StepContext!, plan, work.StartIndex, control.AbortToken, planned.UpdatedAt).ConfigureAwait(false);
        }
        catch (Exception ex) when (control.IsLost && ex is OperationCanceledException or RolloutStepFailedException)
        {
            // Another instance owns the deployment now: it resumes at the stored cursor (a step that failed because it
            // was cancelled is not a failure of the rollout).
            return;
        }
        catch (RolloutStepFailedException failed)
        {
            failure = failed.Error;
            failedAtStep = failed.StepIndex;
        }
        catch (OperationCanceledException) when (control.IsAborted)
        {
            aborted = true;
            // The step under way when it was aborted (the stored cursor may be behind it by steps that only observe).
            failedAtStep = entry.Steps.NextStep;
            failure = new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, $"The rollout was {control.AbortReason ?? "aborted"}.");
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The orchestrator is stopping: the cursor is stored; the rollout resumes on the next start.
            return;
        }

        if (failure is null)
        {
            await CompleteRolloutAsync(work, desired, strategy.Name, started).ConfigureAwait(false);
            return;
        }

        if (control.ForceAbort)
        {
            // A forced abort (destroy) takes over from here.
            return;
        }

        await FailOrRollBackAsync(work, kind, strategy, context, desired, stable, failure, failedAtStep, aborted, started).ConfigureAwait(false);
    }

    /// <summary>
    /// A rollout failed or was aborted: marks it failed when automatic rollback is off, otherwise plans the way back and
    /// runs it. Its own method, so the closures it needs are made only when a rollout fails.
    /// </summary>
    private async Task FailOrRollBackAsync(RolloutWork work, RunKind kind, IRolloutStrategy strategy, RolloutContext context, RevisionSpec desired, RevisionSpec? stable, OrchestrationException failure, int failedAtStep, bool aborted, long started)
    {
        var entry = work.Entry;
        var reason = failure.Message;
        if (!aborted && !desired.Spec.Rollback.Automatic)
        {
            await entry.UpdateAsync(r => r with { State = DeploymentState.Failed, Cursor = null, CompletedAt = Time.GetUtcNow(), Message = reason + " Automatic rollback is off: roll back with RollbackAsync or fix and update." }, "failed").ConfigureAwait(false);
            Telemetry.RecordRolloutEnd(desired.Spec.Type, strategy.Name, "failed", Time, started);
            await _recorder.AuditAsync(OrchestrationActor.System.Id, "rollout.failed", entry.DeploymentId, "failed", new Auditing.AuditData([new("reason", reason)])).ConfigureAwait(false);
            return;
        }

        Log.RollingBack(_recorder.Logger, entry.DeploymentId, reason);
        var plan2 = await kind.PlanWayBackAsync(entry, strategy, context, failedAtStep).ConfigureAwait(false);

        await entry.UpdateAsync(
            r => r with
            {
                State = DeploymentState.RollingBack,
                Message = reason,
                Cursor = new RolloutCursor(RolloutKind.Rollback, plan2.FromRevision, plan2.ToRevision, 0, plan2.Steps.Count, failedAtStep),
            },
            "rolling back: " + reason).ConfigureAwait(false);
        await RunRollbackAsync(work, plan2, 0, stable, reason, strategy.Name, started).ConfigureAwait(false);
    }

    /// <summary>The plan of a scale: converge each component of the serving revision from what the runtime reports.</summary>
    internal async ValueTask<RolloutPlan> PlanScaleAsync(DeploymentEntry entry, RevisionSpec desired)
    {
        var observed = await RuntimePipeline.ExecuteAsync(
            static (s, ct) => s.runtime.GetInstancesAsync(s.id, cancellationToken: ct),
            (runtime: RequireRuntime(), id: entry.DeploymentId),
            _stopping.Token).ConfigureAwait(false);
        return ConvergePlans.Scale(desired, observed);
    }

    /// <summary>
    /// Picks up a deployment whose rollout (or destroy) was interrupted because the process stopped, or that this
    /// instance took over from one that died: the run continues at the stored cursor, never re-running a step the
    /// cursor says is done. A deployment this instance does not own is left to its owner.
    /// </summary>
    public async Task ResumeInterruptedAsync(DeploymentEntry entry)
    {
        var record = entry.Record;
        if (!_recorder.Ownership.ShouldAct(entry.DeploymentId) || entry.Work is not null)
        {
            return;
        }

        if (!_options.ResumeInterruptedRollouts)
        {
            await entry.UpdateAsync(r => r with { State = DeploymentState.Failed, Cursor = null, Message = "The rollout was interrupted by a restart and resuming is off; roll back or update the deployment." }, "interrupted").ConfigureAwait(false);
            return;
        }

        if (record.State == DeploymentState.Destroying)
        {
            using var noFlow = ExecutionContext.SuppressFlow();
            _ = Task.Run(async () =>
            {
                try
                {
                    await DestroyAsync(entry, force: false, _stopping.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Log.WorkerFailed(_recorder.Logger, ex, entry.DeploymentId);
                }
            });
            return;
        }

        var cursor = record.Cursor;
        var kind = cursor?.Kind ?? RolloutKind.Rollout;
        if (RunKind.Of(kind).ResumeAt(cursor, record) is not { } resume)
        {
            await entry.UpdateAsync(r => r with { State = r.StableRevision is null ? DeploymentState.Failed : DeploymentState.Running, Cursor = null }, "recovered").ConfigureAwait(false);
            return;
        }

        Log.Resuming(_recorder.Logger, kind, entry.DeploymentId, resume.StartIndex);
        var work = entry.BeginWork(kind, resume.From, resume.To, resume.StartIndex, resume.PreviousSpec);
        Queue.Enqueue(work);
    }
}
