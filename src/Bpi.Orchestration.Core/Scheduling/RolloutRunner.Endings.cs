using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration;

/// <summary>How a plan run ends: serving the new revision, rolled back, failed, or aborted before it started.</summary>
internal sealed partial class RolloutRunner
{
    private async Task CompleteRolloutAsync(RolloutWork work, RevisionSpec desired, string strategy, long started)
    {
        var entry = work.Entry;

        // Sweep before the state settles: once it does, a new rollout may start and must not be swept.
        await CleanupStaleRevisionsAsync(entry, desired.Number).ConfigureAwait(false);

        // A first rollout ends holding what it reserved when it was accepted: kept as it is, not made and reserved again.
        var held = entry.Record.Allocation;
        var reservation = desired.Spec.ReservationEquals(held) ? held : desired.Spec.GetReservation();
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
                Revisions = RevisionLists.Prune(r.Revisions, s.desired.Number, null, s.desired.Spec.Rollback.HistoryLimit),
            },
            (desired, reservation, now),
            RunKind.Of(work.Kind).CompletedMessage(desired.Number),
            at: now).ConfigureAwait(false);
        Telemetry.RecordRolloutEnd(desired.Spec.Type, strategy, "succeeded", Time, started);
        await _recorder.AuditAsync(serving.UpdatedAt, OrchestrationActor.System.Id, "rollout.completed", entry.DeploymentId, "succeeded", new CompletionAudit(desired.Number, work.Kind)).ConfigureAwait(false);
    }

    private async Task RunRollbackAsync(RolloutWork work, RolloutPlan plan, int startIndex, RevisionSpec? stable, string reason, string strategy, long started)
    {
        var entry = work.Entry;
        var type = entry.Record.CurrentSpec.Type;
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(work.Control.ForceToken, _stopping.Token))
        {
            try
            {
                await _executor.RunAsync(entry.Steps, entry.StepContext!, plan, startIndex, linked.Token).ConfigureAwait(false);
            }
            catch (RolloutStepFailedException failed)
            {
                Log.RollbackFailed(_recorder.Logger, failed.Error, entry.DeploymentId);
                await entry.UpdateAsync(
                    r => r with
                    {
                        State = DeploymentState.Failed,
                        Cursor = null,
                        CompletedAt = Time.GetUtcNow(),
                        Message = $"{reason} The rollback failed too: {failed.Error.Message} Destroy the deployment or deploy a fixed revision.",
                    },
                    "rollback failed").ConfigureAwait(false);
                Telemetry.RecordRolloutEnd(type, strategy, "failed", Time, started);
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
            Telemetry.RecordRolloutEnd(type, strategy, "rolled_back", Time, started);
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
            Telemetry.RecordRolloutEnd(type, strategy, "failed", Time, started);
        }

        await _recorder.AuditAsync(OrchestrationActor.System.Id, "rollout.rolled_back", entry.DeploymentId, stable is null ? "failed" : "rolled_back", new AuditData([new("reason", reason), new("stable.revision", stable?.Number.ToString(CultureInfo.InvariantCulture))])).ConfigureAwait(false);
    }

    /// <summary>A rollout aborted while still queued: nothing ran, so only the record and the ledger go back.</summary>
    public async Task FinishAbortedBeforeStartAsync(RolloutWork work)
    {
        var entry = work.Entry;
        var record = entry.Record;
        var reason = $"The rollout was {work.Control.AbortReason ?? "aborted"} before it started.";
        if (RunKind.Of(work.Kind).SpecReplacedInPlace(work) is { } previous && record.StableRevision is { } number)
        {
            var restored = new RevisionSpec(number, previous);
            _ledger.Reserve(entry.DeploymentId, previous.GetReservation());
            await entry.UpdateAsync(r => r with { State = DeploymentState.RolledBack, Revisions = RevisionLists.Replace(r.Revisions, restored), TargetRevision = null, Cursor = null, Allocation = previous.GetReservation(), Message = reason }, reason).ConfigureAwait(false);
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
}
