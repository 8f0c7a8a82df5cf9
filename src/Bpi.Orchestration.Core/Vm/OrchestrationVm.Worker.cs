using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration;

internal sealed partial class OrchestrationVm
{
    /// <summary>Runs one rollout from the queue to its end: success, rollback, failure, or interruption by a stop.</summary>
    private async Task ExecuteWorkAsync(RolloutWork work)
    {
        var entry = work.Entry;
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                // Left queued in the store; resumed on the next start.
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
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.WorkerFailed(Logger, ex, entry.DeploymentId);
            try
            {
                await entry.UpdateAsync(r => r with { State = DeploymentState.Failed, Cursor = null, Message = $"Internal error: {ex.Message}" }, "failed").ConfigureAwait(false);
            }
            catch (Exception inner) when (inner is not OutOfMemoryException)
            {
                Log.WorkerFailed(Logger, inner, entry.DeploymentId);
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
        var record = entry.Record;
        var desired = entry.GetRevision(work.ToRevision);
        var stable = work.Kind == RolloutKind.Scale
            ? new RevisionSpec(work.ToRevision, work.PreviousSpec ?? desired.Spec)
            : work.FromRevision is { } from ? record.FindRevision(from) : null;
        var strategy = _strategies.GetValueOrDefault(desired.Spec.Strategy.Name) ?? _strategies[RecreateStrategySpec.StrategyName];
        var context = new RolloutContext(entry.DeploymentId, work.Kind == RolloutKind.Scale ? null : stable, desired, Router is not null);
        var started = Time.GetTimestamp();

        if (work.Kind == RolloutKind.Rollback)
        {
            // Resuming an interrupted rollback.
            var failedAt = record.Cursor?.FailedAtStep ?? 0;
            var rollbackPlan = strategy.PlanRollback(context, failedAt);
            await RunRollbackAsync(work, rollbackPlan, work.StartIndex, stable, record.Message ?? "interrupted rollback resumed", strategy.Name, started).ConfigureAwait(false);
            return;
        }

        var plan = work.Kind == RolloutKind.Scale ? PlanPlanner.PlanScale(stable!, desired) : strategy.Plan(context);
        await entry.UpdateAsync(
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
            await _executor.RunAsync(entry, entry.StepContext!, plan, work.StartIndex, control.AbortToken).ConfigureAwait(false);
        }
        catch (RolloutStepFailedException failed)
        {
            failure = failed.Error;
            failedAtStep = failed.StepIndex;
        }
        catch (OperationCanceledException) when (control.IsAborted)
        {
            aborted = true;
            failedAtStep = entry.Record.Cursor?.StepIndex ?? 0;
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

        var reason = failure.Message;
        if (!aborted && !desired.Spec.Rollback.Automatic)
        {
            await entry.UpdateAsync(r => r with { State = DeploymentState.Failed, Cursor = null, CompletedAt = Time.GetUtcNow(), Message = reason + " Automatic rollback is off: roll back with RollbackAsync or fix and update." }, "failed").ConfigureAwait(false);
            _telemetry.RecordRolloutEnd(desired.Spec.Type, strategy.Name, "failed", Time, started);
            await AuditAsync(OrchestrationActor.System.Id, "rollout.failed", entry.DeploymentId, "failed", new AuditData([new("reason", reason)])).ConfigureAwait(false);
            return;
        }

        Log.RollingBack(Logger, entry.DeploymentId, reason);
        RolloutPlan plan2;
        if (work.Kind == RolloutKind.Scale)
        {
            // Restore the spec of the scaled revision, then converge back to it.
            await entry.UpdateAsync(r => r with { Revisions = [.. r.Revisions.Select(x => x.Number == stable!.Number ? stable : x)] }).ConfigureAwait(false);
            plan2 = PlanPlanner.PlanScale(desired, stable!);
        }
        else
        {
            plan2 = strategy.PlanRollback(context, failedAtStep);
        }

        await entry.UpdateAsync(
            r => r with
            {
                State = DeploymentState.RollingBack,
                Message = reason,
                Cursor = new RolloutCursor(RolloutKind.Rollback, plan2.FromRevision, plan2.ToRevision, 0, plan2.Steps.Count, failedAtStep),
            },
            "rolling back: " + reason).ConfigureAwait(false);
        await RunRollbackAsync(work, plan2, 0, work.Kind == RolloutKind.Scale ? stable : context.Stable, reason, strategy.Name, started).ConfigureAwait(false);
    }

    private async Task CompleteRolloutAsync(RolloutWork work, RevisionSpec desired, string strategy, long started)
    {
        var entry = work.Entry;

        // Sweep before the state settles: once it does, a new rollout may start and must not be swept.
        await CleanupStaleRevisionsAsync(entry, desired.Number).ConfigureAwait(false);
        var reservation = desired.Spec.GetReservation();
        _ledger.Reserve(entry.DeploymentId, reservation);
        var now = Time.GetUtcNow();
        var serving = await entry.UpdateAsync(
            static (r, s) => r with
            {
                State = DeploymentState.Running,
                StableRevision = s.desired.Number,
                TargetRevision = null,
                Cursor = null,
                CompletedAt = s.now,
                Message = null,
                Allocation = s.reservation,
                Revisions = Prune(r.Revisions, s.desired.Number, null, s.desired.Spec.Rollback.HistoryLimit),
            },
            (desired, reservation, now),
            work.Kind == RolloutKind.Scale ? "scaled" : ServingMessage(desired.Number),
            at: now).ConfigureAwait(false);
        _telemetry.RecordRolloutEnd(desired.Spec.Type, strategy, "succeeded", Time, started);
        await AuditAsync(serving.UpdatedAt, OrchestrationActor.System.Id, "rollout.completed", entry.DeploymentId, "succeeded", new AuditData([new("revision", desired.Number.ToString(CultureInfo.InvariantCulture)), new("kind", StateNames.Of(work.Kind))])).ConfigureAwait(false);
    }

    private static string ServingMessage(int revision)
        => revision == 1 ? "revision 1 is serving" : string.Create(CultureInfo.InvariantCulture, $"revision {revision} is serving");

    private async Task RunRollbackAsync(RolloutWork work, RolloutPlan plan, int startIndex, RevisionSpec? stable, string reason, string strategy, long started)
    {
        var entry = work.Entry;
        var type = entry.Record.CurrentSpec.Type;
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(work.Control.ForceToken, _stopping.Token))
        {
            try
            {
                await _executor.RunAsync(entry, entry.StepContext!, plan, startIndex, linked.Token).ConfigureAwait(false);
            }
            catch (RolloutStepFailedException failed)
            {
                Log.RollbackFailed(Logger, failed.Error, entry.DeploymentId);
                await entry.UpdateAsync(
                    r => r with
                    {
                        State = DeploymentState.Failed,
                        Cursor = null,
                        CompletedAt = Time.GetUtcNow(),
                        Message = $"{reason} The rollback failed too: {failed.Error.Message} Destroy the deployment or deploy a fixed revision.",
                    },
                    "rollback failed").ConfigureAwait(false);
                _telemetry.RecordRolloutEnd(type, strategy, "failed", Time, started);
                return;
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                // Stopping (resumed on the next start) or destroyed (the destroy takes over).
                return;
            }
        }

        if (stable is not null)
        {
            await CleanupStaleRevisionsAsync(entry, stable.Number).ConfigureAwait(false);
            var reservation = stable.Spec.GetReservation();
            _ledger.Reserve(entry.DeploymentId, reservation);
            await entry.UpdateAsync(
                r => r with
                {
                    State = DeploymentState.RolledBack,
                    TargetRevision = null,
                    Cursor = null,
                    CompletedAt = Time.GetUtcNow(),
                    Message = reason,
                    Allocation = reservation,
                    RollbackCount = r.RollbackCount + 1,
                },
                string.Create(CultureInfo.InvariantCulture, $"rolled back to revision {stable.Number}")).ConfigureAwait(false);
            _telemetry.RecordRolloutEnd(type, strategy, "rolled_back", Time, started);
        }
        else
        {
            // A first deployment failed: make sure nothing is left and release everything.
            await RequireRuntime().RemoveDeploymentAsync(entry.DeploymentId, CancellationToken.None).ConfigureAwait(false);
            _ledger.Release(entry.DeploymentId);
            await entry.UpdateAsync(
                r => r with
                {
                    State = DeploymentState.Failed,
                    TargetRevision = null,
                    Cursor = null,
                    CompletedAt = Time.GetUtcNow(),
                    Message = reason,
                    Allocation = ResourceRequirements.None,
                    RollbackCount = r.RollbackCount + 1,
                },
                "failed: " + reason).ConfigureAwait(false);
            _telemetry.RecordRolloutEnd(type, strategy, "failed", Time, started);
        }

        await AuditAsync(OrchestrationActor.System.Id, "rollout.rolled_back", entry.DeploymentId, stable is null ? "failed" : "rolled_back", new AuditData([new("reason", reason), new("stable.revision", stable?.Number.ToString(CultureInfo.InvariantCulture))])).ConfigureAwait(false);
    }

    /// <summary>A rollout aborted while still queued: nothing ran, so only the record and the ledger go back.</summary>
    private async Task FinishAbortedBeforeStartAsync(RolloutWork work)
    {
        var entry = work.Entry;
        var record = entry.Record;
        var reason = $"The rollout was {work.Control.AbortReason ?? "aborted"} before it started.";
        if (work.Kind == RolloutKind.Scale && work.PreviousSpec is { } previous && record.StableRevision is { } number)
        {
            var restored = new RevisionSpec(number, previous);
            _ledger.Reserve(entry.DeploymentId, previous.GetReservation());
            await entry.UpdateAsync(r => r with { State = DeploymentState.RolledBack, Revisions = ReplaceRevision(r.Revisions, restored), TargetRevision = null, Cursor = null, Allocation = previous.GetReservation(), Message = reason }, reason).ConfigureAwait(false);
        }
        else if (record.StableRevision is { } stableNumber && record.FindRevision(stableNumber) is { } stable)
        {
            _ledger.Reserve(entry.DeploymentId, stable.Spec.GetReservation());
            await entry.UpdateAsync(r => r with { State = DeploymentState.RolledBack, TargetRevision = null, Cursor = null, Allocation = stable.Spec.GetReservation(), Message = reason }, reason).ConfigureAwait(false);
        }
        else
        {
            _ledger.Release(entry.DeploymentId);
            await entry.UpdateAsync(r => r with { State = DeploymentState.Failed, TargetRevision = null, Cursor = null, Allocation = ResourceRequirements.None, Message = reason, CompletedAt = Time.GetUtcNow() }, reason).ConfigureAwait(false);
        }
    }

    /// <summary>Scales every revision other than <paramref name="keep"/> to zero: a safety net after every plan, so no instance of an old or failed revision is left behind.</summary>
    private async Task CleanupStaleRevisionsAsync(DeploymentEntry entry, int keep)
    {
        var runtime = RequireRuntime();
        var instances = await runtime.GetInstancesAsync(entry.DeploymentId, cancellationToken: _stopping.Token).ConfigureAwait(false);

        // Usually nothing is stale: find out without grouping anything.
        var components = entry.Record.FindRevision(keep)?.Spec.Components;
        List<(string ComponentId, int Revision)>? stale = null;
        for (var index = 0; index < instances.Count; index++)
        {
            var instance = instances[index];
            var dropped = instance.Revision == keep && components is not null && ComponentOrder.IndexOf(components, instance.ComponentId) < 0;
            if ((instance.Revision != keep || dropped) && !(stale ??= []).Contains((instance.ComponentId, instance.Revision)))
            {
                stale.Add((instance.ComponentId, instance.Revision));
            }
        }

        if (stale is null)
        {
            return;
        }

        // Components the serving revision no longer has keep no instances of the serving revision number either.
        foreach (var (componentId, revision) in stale)
        {
            try
            {
                var workload = WorkloadFor(entry, componentId, revision);
                await _runtimePipeline.ExecuteAsync(static (s, ct) => s.runtime.EnsureReplicasAsync(s.workload, 0, ct), (runtime, workload), _stopping.Token).ConfigureAwait(false);
            }
            catch (OrchestrationException ex)
            {
                Log.CleanupFailed(Logger, ex, entry.DeploymentId, revision);
            }
        }
    }

    /// <summary>Picks up a deployment whose rollout (or destroy) was interrupted because the process stopped.</summary>
    private async Task ResumeInterruptedAsync(DeploymentEntry entry)
    {
        var record = entry.Record;
        if (!Options.ResumeInterruptedRollouts)
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
                    await DestroyCoreAsync(entry, force: false, _stopping.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Log.WorkerFailed(Logger, ex, entry.DeploymentId);
                }
            });
            return;
        }

        var cursor = record.Cursor;
        var kind = cursor?.Kind ?? RolloutKind.Rollout;
        var target = kind == RolloutKind.Rollback ? cursor!.FromRevision ?? record.TargetRevision : cursor?.ToRevision ?? record.TargetRevision;
        if (target is not { } to)
        {
            await entry.UpdateAsync(r => r with { State = r.StableRevision is null ? DeploymentState.Failed : DeploymentState.Running, Cursor = null }, "recovered").ConfigureAwait(false);
            return;
        }

        var from = kind == RolloutKind.Rollback ? cursor!.ToRevision == 0 ? (int?)null : cursor.ToRevision : cursor?.FromRevision ?? record.StableRevision;
        var spec = kind == RolloutKind.Scale ? record.FindRevision(to)?.Spec : null;
        Log.Resuming(Logger, kind, entry.DeploymentId, cursor?.StepIndex ?? 0);
        var work = entry.BeginWork(kind, from, to, cursor?.StepIndex ?? 0, spec);
        _queue.Enqueue(work);
    }
}
